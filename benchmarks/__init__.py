"""Provides relaylab's benchmarks. Run ``make bench`` or ``python -m benchmarks [NAME ...]``."""
