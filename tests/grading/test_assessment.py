"""Exam scoring and item analysis, checked against values computed by hand."""

from __future__ import annotations

import math
import random
import time

import pytest

from grading import CheckResult, Result
from grading.assessment import (
    ItemScore,
    answer_points,
    full_marks,
    histogram,
    item_statistics,
    key_points_score,
    lab_item_points,
    pearson,
    reliability,
    score_response,
    short_score,
    total,
)
from grading.questions import score_free_text, score_short

# Five candidates, three one-point items (A easy, B middling, C hard):
#   c1 1 1 1 (3)   c2 1 1 0 (2)   c3 1 0 0 (1)   c4 0 0 0 (0)   c5 1 1 1 (3)
FIVE = [{"A": 1.0, "B": 1.0, "C": 1.0}, {"A": 1.0, "B": 1.0, "C": 0.0}, {"A": 1.0, "B": 0.0, "C": 0.0},
        {"A": 0.0, "B": 0.0, "C": 0.0}, {"A": 1.0, "B": 1.0, "C": 1.0}]
ONES = {"A": 1.0, "B": 1.0, "C": 1.0}


class TestItemStatistics:
    def test_difficulty_is_the_mean_fraction_of_points(self) -> None:
        stats = {s.item: s for s in item_statistics(FIVE, ONES)}
        assert stats["A"].p == pytest.approx(0.8)
        assert stats["B"].p == pytest.approx(0.6)
        assert stats["C"].p == pytest.approx(0.4)
        assert all(s.n == 5 for s in stats.values())

    def test_corrected_point_biserial_against_the_rest_score(self) -> None:
        stats = {s.item: s for s in item_statistics(FIVE, ONES)}
        # A: item 1 1 1 0 1, rest 2 1 0 0 2 -> sxy 1.0, sxx 0.8, syy 4 -> 1/sqrt(3.2)
        assert stats["A"].discrimination == pytest.approx(1 / math.sqrt(3.2))
        # B: item 1 1 0 0 1, rest 2 1 1 0 2 -> sxy 1.4, sxx 1.2, syy 2.8
        assert stats["B"].discrimination == pytest.approx(1.4 / math.sqrt(1.2 * 2.8))
        # C: item 1 0 0 0 1, rest 2 2 1 0 2 -> sxy 1.2, sxx 1.2, syy 3.2
        assert stats["C"].discrimination == pytest.approx(1.2 / math.sqrt(1.2 * 3.2))
        assert not any(s.flagged for s in stats.values())

    def test_an_item_the_weak_get_right_is_flagged_as_likely_miskeyed(self) -> None:
        rows = [dict(r) for r in FIVE]
        for row, value in zip(rows, [0.0, 0.0, 1.0, 1.0, 0.0], strict=True):
            row["D"] = value
        stats = {s.item: s for s in item_statistics(rows, {**ONES, "D": 1.0})}
        assert stats["D"].discrimination is not None and stats["D"].discrimination < 0
        assert stats["D"].flagged

    def test_items_only_some_candidates_took_use_those_candidates(self) -> None:
        rows = [{"A": 1.0, "P": 1.0}, {"A": 0.0}, {"A": 1.0, "P": 0.0}]
        stats = {s.item: s for s in item_statistics(rows, {"A": 1.0, "P": 2.0, "Q": 1.0})}
        assert stats["P"].n == 2 and stats["P"].p == pytest.approx(0.25)
        assert stats["Q"].n == 0 and stats["Q"].p is None and stats["Q"].discrimination is None

    def test_no_discrimination_without_variance(self) -> None:
        rows = [{"A": 1.0, "B": 0.0}, {"A": 1.0, "B": 1.0}]
        stats = {s.item: s for s in item_statistics(rows, {"A": 1.0, "B": 1.0})}
        assert stats["A"].discrimination is None  # everyone right


class TestReliability:
    def test_kr20_alpha_and_sem_for_right_wrong_items(self) -> None:
        rel = reliability(FIVE, ONES)
        # totals 3 2 1 0 3: mean 1.8, var 6.8/5 = 1.36; sum pq = .16 + .24 + .24 = .64
        expected = 1.5 * (1 - 0.64 / 1.36)
        assert rel.kr20 == pytest.approx(expected)
        assert rel.alpha == pytest.approx(expected)  # equal for right/wrong items
        assert rel.sem == pytest.approx(math.sqrt(1.36 * (1 - expected)))
        assert rel.sem == pytest.approx(math.sqrt(0.28))
        assert (rel.candidates, rel.items, rel.max_points) == (5, 3, 3.0)
        assert rel.small_sample

    def test_alpha_uses_points_and_kr20_right_or_wrong_for_partial_credit(self) -> None:
        rows = [{"A": 2.0, "B": 1.0}, {"A": 1.0, "B": 1.0}, {"A": 0.0, "B": 0.0}]
        rel = reliability(rows, {"A": 2.0, "B": 1.0})
        # var A 2/3, var B 2/9, var X 14/9 -> alpha 2 * (1 - (8/9) / (14/9)) = 6/7
        assert rel.alpha == pytest.approx(6 / 7)
        # right/wrong: A 1 0 0, B 1 1 0 -> totals 2 1 0 (var 2/3), sum pq 4/9 -> 2/3
        assert rel.kr20 == pytest.approx(2 / 3)
        assert rel.sem == pytest.approx(math.sqrt(2 / 9))

    def test_only_items_every_candidate_took_count(self) -> None:
        rows = [{**r, "P": 1.0} if i % 2 else dict(r) for i, r in enumerate(FIVE)]
        rel = reliability(rows, {**ONES, "P": 1.0})
        assert rel.items == 3
        assert rel.alpha == pytest.approx(reliability(FIVE, ONES).alpha)

    @pytest.mark.parametrize(
        "rows",
        [
            [],  # no candidate
            [{"A": 1.0, "B": 0.0, "C": 1.0}],  # one candidate
            [{"A": 1.0, "B": 1.0, "C": 1.0}, {"A": 1.0, "B": 1.0, "C": 1.0}],  # nobody differs
        ],
    )
    def test_nothing_is_made_up_when_it_cannot_be_computed(self, rows: list[dict[str, float]]) -> None:
        rel = reliability(rows, ONES)
        assert rel.kr20 is None and rel.alpha is None and rel.sem is None
        assert rel.candidates == len(rows)
        assert rel.small_sample

    def test_one_candidate_has_difficulty_but_no_discrimination(self) -> None:
        stats = item_statistics([{"A": 1.0, "B": 0.0, "C": 1.0}], ONES)
        assert [s.p for s in stats] == [1.0, 0.0, 1.0]
        assert all(s.discrimination is None for s in stats)

    def test_a_thousand_candidates_of_sixty_items(self) -> None:
        rng = random.Random(3)
        items = {f"q{i}": 1.0 for i in range(60)}
        difficulty = {k: rng.gauss(0, 1) for k in items}
        rows = []
        for _ in range(1000):
            ability = rng.gauss(0, 1)
            rows.append({k: 1.0 if rng.random() < 1 / (1 + math.exp(difficulty[k] - ability)) else 0.0 for k in items})
        started = time.perf_counter()
        stats = item_statistics(rows, items)
        rel = reliability(rows, items)
        assert time.perf_counter() - started < 5
        assert not rel.small_sample and rel.candidates == 1000 and rel.items == 60
        assert rel.kr20 is not None and 0.8 < rel.kr20 < 1 and rel.alpha == pytest.approx(rel.kr20)
        assert all(s.discrimination is not None and s.discrimination > 0 for s in stats)
        easy, hard = min(difficulty, key=difficulty.__getitem__), max(difficulty, key=difficulty.__getitem__)
        by_item = {s.item: s for s in stats}
        assert by_item[easy].p is not None and by_item[hard].p is not None
        assert by_item[easy].p > by_item[hard].p


def test_pearson() -> None:
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1], [1]) is None
    assert pearson([1, 1], [1, 2]) is None


def test_histogram_bins_of_ten_percent() -> None:
    assert histogram([0, 9.99, 10, 55, 99.9, 100]) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert histogram([]) == [0] * 10


class TestScoreResponse:
    @pytest.mark.parametrize(
        ("kind", "key", "response", "fraction"),
        [
            ("single", {"correct": [2]}, 2, 1.0),  # the right option
            ("single", {"correct": [2]}, 1, 0.0),  # another option
            ("single", {"correct": [2]}, [2], 1.0),  # a list of one is read as that option
            ("multiple", {"correct": [0, 3]}, [3, 0], 1.0),  # order of choices does not matter
            ("multiple", {"correct": [0, 3]}, [0], 0.0),  # all or nothing
            ("order", {"order": [2, 0, 1]}, [2, 0, 1], 1.0),
            ("order", {"order": [2, 0, 1]}, [0, 1, 2], 0.0),
            ("order", {"order": [2, 0, 1]}, [0, 0, 1], 0.0),  # not a permutation: wrong shape
            ("match", {"pairs": [1, 0]}, [1, 0], 1.0),
            ("match", {"pairs": [1, 0]}, [1, None], 0.0),  # one left unmatched
            ("short", {"accepted": ["Set-CASMailbox"], "patterns": []}, " set-casmailbox. ", 1.0),
            ("short", {"accepted": [], "patterns": [r"5\d\d"]}, "550", 1.0),
            ("short", {"accepted": [], "patterns": [r"5\d\d"]}, "4500", 0.0),
            ("free", {"key_points": [{"point": "a", "any_of": ["alpha"]}, {"point": "b", "any_of": ["beta"]}]},
             "Alpha only", 0.5),
            ("single", {"correct": [0]}, None, 0.0),  # not answered
            ("single", {"correct": [0]}, "zero", 0.0),  # wrong shape
            ("multiple", {"correct": [0]}, [True], 0.0),  # booleans are not option indexes
            ("free", {"key_points": []}, 42, 0.0),  # wrong shape
            ("essay", {}, "text", 0.0),  # unknown kind
        ],
    )
    def test_scores(self, kind: str, key: dict[str, object], response: object, fraction: float) -> None:
        assert score_response(kind, key, response).fraction == pytest.approx(fraction)

    def test_cached_scorers_agree_with_the_training_scorers(self) -> None:
        cases = [("Get-TransportConfig", ["get-transportconfig"], [], False),
                 ("GET-transportconfig", ["Get-TransportConfig"], [], True),
                 ("smtp.office365.com:587", [], [r"smtp\.office365\.com(:587)?"], False),
                 ("", ["x"], [], False)]
        for answer, accepted, patterns, cs in cases:
            assert short_score(answer, accepted, patterns, cs) == score_short(answer, accepted, patterns, cs)
        points = [("tls", ["starttls", r"tls\s*1\.2"]), ("port", ["587"])]
        for text in ("Use STARTTLS on 587", "TLS 1.2 please", "nothing"):
            mine, made = key_points_score(text, points)
            theirs, hits = score_free_text(text, points)
            assert mine == theirs and made == [h.made for h in hits]


def test_lab_points_scale_the_rubric_and_ignore_ungradable_runs() -> None:
    check = CheckResult("c", "t", 3, 4, False, False, "m")
    assert lab_item_points(Result(True, 3, 4, False, (check,)), 10) == (7.5, False)
    assert lab_item_points(Result(True, 4, 4, True), 10) == (10.0, True)
    assert lab_item_points(Result.not_gradable("nothing captured", 4), 10) == (0.0, False)


def test_question_points_are_the_answer_fraction_and_full_marks_allow_rounding() -> None:
    assert answer_points(3, 1 / 3) == 1.0 and answer_points(2, 0.5) == 1.0 and answer_points(1.5, 0.0) == 0.0
    assert full_marks(answer_points(0.7, 1.0), 0.7) and full_marks(0.99999999999, 1.0)
    assert not full_marks(answer_points(1, 0.9999), 1)


def test_totals_by_section_level_and_topic() -> None:
    items = [ItemScore("a", "single", 0, "L2", ("tls", "ports"), 1, 1, True, True),
             ItemScore("b", "free", 0, "L2", ("tls",), 1.5, 3, True, False),
             ItemScore("lab:x", "lab", 1, "L3", ("oauth",), 10, 10, True, True)]
    score = total(items, 70)
    assert (score.score, score.max_score) == (12.5, 14)
    assert score.by_section == {0: (2.5, 4), 1: (10, 10)}
    assert score.by_level == {"L2": (2.5, 4), "L3": (10, 10)}
    assert score.by_topic == {"oauth": (10, 10), "ports": (1, 1), "tls": (2.5, 4)}
    assert score.percent == pytest.approx(100 * 12.5 / 14) and score.passed


def test_the_pass_mark_is_inclusive() -> None:
    items = [ItemScore(f"q{i}", "single", 0, "L2", (), 1 if i < 7 else 0, 1, True, i < 7) for i in range(10)]
    assert total(items, 70).passed
    assert not total(items, 71).passed
