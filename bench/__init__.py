"""Benchmarks and evaluations that print numbers (never asserted in tests)."""
