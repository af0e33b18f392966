"""Provides the two places relaylab reads and writes: the bundled course and the user's data.

``RELAYLAB_HOME`` overrides the platform's user data directory (tests always set it).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["bundled_content", "data_home", "store_path"]


def bundled_content() -> Path:
    """Return the folder of the course that ships with relaylab.

    Returns:
        ``content/`` next to the packages in a source checkout, or the copy inside the wheel.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_content"
    if packaged.is_dir():
        return packaged
    return here.parent / "content"


def data_home() -> Path:
    """Return (and create) the per-user data directory.

    Returns:
        ``$RELAYLAB_HOME`` when set, else the platform's user data dir for relaylab.
    """
    override = os.environ.get("RELAYLAB_HOME")
    if override:
        path = Path(override).expanduser()
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("relaylab", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_path() -> Path:
    """Return the path of the SQLite progress store."""
    return data_home() / "progress.sqlite3"
