"""Benchmarks: synthetic corpus generation and scoring of anonymized outputs."""
