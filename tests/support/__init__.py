"""Helpers for tests that run real processes and servers."""
