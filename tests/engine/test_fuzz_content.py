"""Mutated course files always end in located problems, never in a traceback."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.loader import validate_course
from engine.paths import bundled_content
from tests.conftest import DATA

SOURCE = DATA / "course"
FILES = ["course.yaml", "lessons/ports.yaml", "questions/ports.yaml", "tenants/tiny.yaml"]


def _copy() -> Path:
    root = Path(tempfile.mkdtemp(prefix="fuzz-")) / "course"
    shutil.copytree(SOURCE, root)
    # the bundled tenant scenario is the richest YAML we have: fuzz it as well
    shutil.copy(bundled_content() / "tenants" / "contoso.yaml", root / "tenants" / "contoso.yaml")
    return root


MUTATIONS = st.sampled_from([
    "delete-line", "tab-indent", "duplicate-line", "junk", "truncate", "empty", "binary",
    "huge", "bad-ref", "broken-jinja", "swap-type", "dedent",
])


def mutate(text: str, kind: str, where: float, junk: str) -> str | bytes:
    lines = text.splitlines(keepends=True)
    i = int(where * (len(lines) - 1))
    if kind == "delete-line":
        del lines[i]
    elif kind == "tab-indent":
        lines[i] = "\t" + lines[i]
    elif kind == "duplicate-line":
        lines.insert(i, lines[i])
    elif kind == "junk":
        lines[i] = lines[i][: len(lines[i]) // 2] + junk + "\n"
    elif kind == "truncate":
        return text[: int(where * len(text))]
    elif kind == "empty":
        return ""
    elif kind == "binary":
        return bytes(range(256)) * 4
    elif kind == "huge":
        return "a: " + "x" * (5 * 1024 * 1024) + "\n"
    elif kind == "bad-ref":
        return text.replace("ports", "p0rts", 1).replace("tiny", "tiiny", 1)
    elif kind == "broken-jinja":
        return text.replace("{{ tenant.name }}", "{{ tenant.name ") .replace("id:", "id: {{", 1)
    elif kind == "swap-type":
        lines[i] = lines[i].split(":")[0] + ": [1, {a: 2}]\n" if ":" in lines[i] else lines[i]
    elif kind == "dedent":
        lines[i] = lines[i].lstrip()
    return "".join(lines)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.sampled_from([*FILES, "tenants/contoso.yaml"]),
    kind=MUTATIONS,
    where=st.floats(min_value=0, max_value=1),
    junk=st.text(min_size=1, max_size=20),
)
def test_mutations_end_in_located_problems(target: str, kind: str, where: float, junk: str) -> None:
    root = _copy()
    try:
        path = root / target
        mutated = mutate(path.read_text(), kind, where, junk)
        if isinstance(mutated, bytes):
            path.write_bytes(mutated)
        else:
            path.write_text(mutated, encoding="utf-8", errors="surrogatepass")
        _tree, problems = validate_course(root)  # must never raise
        for problem in problems:
            assert problem.line is not None and problem.line >= 1, str(problem)
            assert problem.col is not None and problem.col >= 1, str(problem)
            assert problem.message and "\n" not in problem.message, str(problem)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
