"""Provides the mock Exchange Online tenant."""
