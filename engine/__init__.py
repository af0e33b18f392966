"""Provides the course engine: content models, loader and validator, rendering, progress store,
lab and exam orchestration, and the ``relaylab`` command line."""

from __future__ import annotations

__version__ = "0.1.0"
"""The release (hatchling reads it from here for the package metadata)."""

__all__ = ["__version__"]
