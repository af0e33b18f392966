"""Provides the course engine: content models, loader and validator, rendering, progress store,
lab and exam orchestration, and the ``relaylab`` command line."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("relaylab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
