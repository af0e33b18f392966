"""The small, stable course the app's tests run on (the bundled tenant scenario is copied in)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from engine.paths import bundled_content

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "fixtures" / "course"
_BUILT: Path | None = None


def fixture_course() -> Path:
    """Build the test course once per process (course files plus the bundled contoso scenario)."""
    global _BUILT
    if _BUILT is not None and _BUILT.is_dir():
        return _BUILT
    root = Path(tempfile.mkdtemp(prefix="relaylab-course-")) / "course"
    shutil.copytree(SOURCE, root)
    (root / "tenants").mkdir(exist_ok=True)
    shutil.copy(bundled_content() / "tenants" / "contoso.yaml", root / "tenants" / "contoso.yaml")
    _BUILT = root
    return root
