"""Thin task shells: parse ids, call a shared service inside one transaction."""
