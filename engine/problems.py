"""Provides located problems (``FILE:LINE:COL: message``) and a collector for them.

A problem without a real position keeps ``line`` and ``col`` as ``None``: a made-up line number
is worse than none, so such a problem prints as ``FILE: message``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path

__all__ = ["Problem", "Problems", "did_you_mean"]


def did_you_mean(word: str, among: Iterable[str]) -> str:
    """Return `` Did you mean 'x'?`` for the closest candidate, or an empty string."""
    candidates = [c for c in among if isinstance(c, str)]
    hit = get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" Did you mean {hit[0]!r}?" if hit else ""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, at a 1-based line and column when known."""

    path: str
    """The file, as given to the loader (relative paths stay relative)."""
    line: int | None
    """1-based line, or None when no position is known."""
    col: int | None
    """1-based column, or None."""
    message: str
    """What is wrong and what was expected."""
    source_line: str | None = field(default=None, compare=False)
    """The text of the offending line, for display under the message."""

    def location(self) -> str:
        """Return ``FILE:LINE:COL`` (or ``FILE`` when no position is known)."""
        if self.line is None:
            return self.path
        return f"{self.path}:{self.line}:{self.col or 1}"

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"

    def to_json(self) -> dict[str, object]:
        """Return the problem as a JSON-ready mapping."""
        return {"file": self.path, "line": self.line, "col": self.col, "message": self.message}


class Problems:
    """An ordered collector of problems, optionally bound to one file and its source text."""

    def __init__(self) -> None:
        self._items: list[Problem] = []

    def add(
        self,
        path: str | Path,
        message: str,
        line: int | None = None,
        col: int | None = None,
        source: str | None = None,
    ) -> None:
        """Record a problem; ``source`` is the file text, used to quote the offending line."""
        quoted = None
        if source is not None and line is not None:
            lines = source.splitlines()
            if 0 < line <= len(lines):
                quoted = lines[line - 1][:200]
        self._items.append(Problem(str(path), line, col, message, quoted))

    def extend(self, problems: Iterable[Problem]) -> None:
        """Add problems gathered elsewhere."""
        self._items.extend(problems)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.sorted())

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def sorted(self) -> list[Problem]:
        """Return the problems ordered by file, line and column, duplicates dropped."""
        seen: set[tuple[str, int | None, int | None, str]] = set()
        unique = []
        for p in self._items:
            key = (p.path, p.line, p.col, p.message)
            if key not in seen:
                seen.add(key)
                unique.append(p)
        return sorted(unique, key=lambda p: (p.path, p.line or 0, p.col or 0))
