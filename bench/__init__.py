"""Exam-day benchmarks (make bench)."""
