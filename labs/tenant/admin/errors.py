"""Provides the admin shell's error: one line in PowerShell's words, raised by every stage.

    PSError                 any failure of a command line (nothing changes, nothing is audited)
    └── ParseError          the line could not be parsed (quotes, braces, tokens)

The shell turns a ``PSError`` into the ``error`` of a failed result; nothing else escapes.
"""

from __future__ import annotations

__all__ = ["PSError", "ParseError"]


class PSError(Exception):
    """A command failed; ``message`` is the one-line error PowerShell would show.

    Args:
        message: the error text.
        hint: an optional suggestion appended to the line ("Did you mean ...?").
    """

    def __init__(self, message: str, hint: str = "") -> None:
        text = message if not hint else f"{message} {hint}"
        super().__init__(text)
        self.message = text


class ParseError(PSError):
    """The command line is not valid syntax.

    Args:
        message: PowerShell's parser message.
        position: 0-based offset in the line where the problem is.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position
