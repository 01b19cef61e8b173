"""Exam day: what admins do and watch while attempts run."""
