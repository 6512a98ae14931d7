"""Reproducible benchmarks for rawgwh. Run ``python -m benchmarks.<name> --help``."""
