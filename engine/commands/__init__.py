"""Provides the command modules of ``relaylab``; each adds its subcommands to the parser."""

from __future__ import annotations

from engine.commands import content, exam, export, lab, quiz, tenant

COMMAND_MODULES = [content, tenant, lab, quiz, exam, export]
"""Modules with a ``register(subparsers)`` function, in help order."""
