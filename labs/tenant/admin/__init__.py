"""Provides the Exchange Online admin shell of the mock tenant: cmdlets, parser, formatting, control channel.

Use :class:`AdminShell` (``tenant.shell()``) to run command lines; ``relaylab tenant exec`` and
``relaylab tenant shell`` reach a running tenant through :mod:`labs.tenant.admin.control`.
"""

from labs.tenant.admin.shell import AdminShell, CommandResult

__all__ = ["AdminShell", "CommandResult"]
