"""The app as a trainee "Ada" sees it after some work: two lessons done, answers and lab attempts at
fixed times, cards in the flashcard boxes, a fixed clock — so every screen renders the same way."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

from course.app import RelaylabApp
from engine.paths import store_path
from engine.services import CourseService, EndpointInfo, LabSession
from engine.store import LabAttempt, Store
from tests.course.fixture import fixture_course
from tests.course.helpers import NOW

LEARNER = "Ada"


def seed(*, progress: bool = True) -> None:
    """Write Ada's progress into the store (under this test's RELAYLAB_HOME)."""
    with Store(store_path()) as store:
        learner = store.create_learner(LEARNER)
        if not progress:
            return
        service = CourseService(CourseService.open(fixture_course(), store.path).tree, store, now=lambda: NOW)
        store.open_lesson(learner.id, "what-is-relay")
        store.complete_lesson(learner.id, "what-is-relay", 540)
        store.open_lesson(learner.id, "ports")
        for qid, response in (("wir-single", 1), ("wir-multiple", [0, 1]), ("ports-short", "25"),
                              ("ports-free", "587 is submission"), ("auth-single", 0)):
            service.answer(learner.id, qid, response)
        service.rate_card(learner.id, "design-free", "easy")
        store.put(learner.id, "seconds:practice", "780")
        store.put(learner.id, "seconds:labs", "1260")
        result = {"checks": [], "score": 1, "max_score": 3}
        for n, (score, passed) in enumerate(((1.0, False), (3.0, True))):
            store.save_lab_attempt(LabAttempt(f"a{n}", learner.id, "scan-to-inbox", f"2026-02-2{7 + n}T10:00:00.000Z",
                                              f"2026-02-2{7 + n}T10:05:00.000Z", score, 3.0, passed, True, result,
                                              [], n, {"security": "starttls"}))
        store.put(learner.id, "last_lesson", "ports")
    # answers carry the time they were given; pin them to fixed days for the chart
    db = sqlite3.connect(store_path())
    with db:
        db.execute("UPDATE answers SET at = CASE WHEN id <= 2 THEN '2026-02-26T09:00:00.000Z' "
                   "ELSE '2026-02-28T09:00:00.000Z' END")
    db.close()


_real_endpoints = LabSession.endpoints


def _fixed_endpoints(self: LabSession) -> tuple[EndpointInfo, ...]:
    """The tenant listens on free ports; show fixed ones so the screen is the same each run."""
    fixed = {"mx": 10025, "submission": 10587, "smtps": 10465}
    return tuple(replace(e, listen=f"127.0.0.1:{fixed.get(e.name, 10000)}") for e in _real_endpoints(self))


def build(*, progress: bool = True, learner: str | None = LEARNER, **kwargs: Any) -> RelaylabApp:
    """The seeded app (call inside a test: the store lives in the test's RELAYLAB_HOME)."""
    seed(progress=progress)
    LabSession.endpoints = _fixed_endpoints  # type: ignore[method-assign]
    return RelaylabApp(fixture_course(), learner=learner, now=lambda: NOW, **kwargs)


def restore() -> None:
    """Undo the display patch."""
    LabSession.endpoints = _real_endpoints  # type: ignore[method-assign]
