"""The author's self-test over the whole catalogue: every lab's reference solution passes through a
real tenant and the grader, its starting config fails, and its known-wrong fixes fail as declared."""

from __future__ import annotations

import pytest

from engine.labcheck import lab_problems
from engine.loader import load_course
from engine.paths import bundled_content
from engine.problems import Problems

pytestmark = pytest.mark.e2e


def test_every_lab_solution_passes_and_every_wrong_fix_fails() -> None:
    tree = load_course(bundled_content())
    assert len(tree.labs) >= 1
    problems = Problems()
    lab_problems(tree, problems)
    assert [str(p) for p in problems.sorted()] == []
