"""Provides the command modules of ``relaylab``; each adds its subcommands to the parser."""

from __future__ import annotations

from engine.commands import content, lab, tenant

COMMAND_MODULES = [content, tenant, lab]
"""Modules with a ``register(subparsers)`` function, in help order."""
