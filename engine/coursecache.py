"""Provides the course tree from a cache when none of its files, and none of the code that reads it, changed.

Validating the bundled course (schema, cross-references, every template and link) costs most of a
second; the cached tree unpickles in tens of milliseconds. The cache lives in the user's data folder
(``cache/``), one file per course folder; any problem reading it falls back to a full load, which
also refreshes it. Commands that judge the content (``relaylab validate``) always load it in full.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from pathlib import Path

from engine.loader import CourseTree, load_course
from engine.paths import data_home

__all__ = ["course_fingerprint", "load_course_cached"]

_CODE = tuple(Path(__file__).resolve().parent.parent / name for name in ("engine", "labs", "grading"))
"""Packages whose code decides what a loaded course looks like."""


def course_fingerprint(root: Path) -> str:
    """A digest of every file's path, size and modification time under ``root`` and of the reading code."""
    from engine import __version__

    digest = hashlib.sha256(f"{__version__}|{sys.version}|{root.resolve()}".encode())
    for base in (root, *_CODE):
        pattern = "*" if base is root else "*.py"
        for path in sorted(base.rglob(pattern)):
            if path.is_file():
                st = path.stat()
                digest.update(f"{path.relative_to(base)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def _place(root: Path) -> str:
    """The part of the cache file's name that stands for the course folder."""
    return "course-" + hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]


def cache_file(root: Path) -> Path:
    """Where the cached tree of the course in ``root`` is kept now."""
    return data_home() / "cache" / f"{_place(root)}-{course_fingerprint(root)}.pickle"


def load_course_cached(root: Path) -> CourseTree:
    """Load the course in ``root``, reusing the copy validated last time when nothing changed."""
    try:
        cache = cache_file(root)
    except OSError:
        return load_course(root)
    if cache.is_file():
        try:
            tree = pickle.loads(cache.read_bytes())
            if isinstance(tree, CourseTree):
                return tree
        except Exception:  # a stale or damaged cache is rebuilt, never fatal
            pass
    tree = load_course(root)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        for old in cache.parent.glob(f"{_place(root)}-*.pickle"):
            old.unlink(missing_ok=True)
        tmp = cache.with_suffix(f".{id(tree)}.tmp")
        tmp.write_bytes(pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(cache)
    except OSError:
        pass
    return tree
