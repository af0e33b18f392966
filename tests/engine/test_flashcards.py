"""The Leitner schedule: hard cards come back soon and often, known cards wait longer and longer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.flashcards import BOX_INTERVALS, CardState, ReviewQueue, due_order, format_due, parse_time, review

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("box", "rating", "new_box"),
    [
        (0, "hard", 1),  # a new card rated hard starts at the bottom
        (0, "good", 2),  # a new card counts as box 1: good moves it up to box 2 (a day)
        (0, "easy", 3),  # easy skips a box
        (3, "hard", 1),  # forgetting sends a card back to box 1
        (3, "good", 4),
        (1, "good", 2),
        (4, "easy", 5),  # never beyond the last box
        (5, "good", 5),
    ],
)
def test_ratings_move_cards_between_boxes(box: int, rating: str, new_box: int) -> None:
    state = None if box == 0 else CardState(box, NOW, 3)
    after = review(state, rating, NOW)  # type: ignore[arg-type]
    assert after.box == new_box
    assert after.due == NOW + BOX_INTERVALS[new_box - 1]
    assert after.reviews == (1 if state is None else 4)


def test_intervals_grow_with_the_box() -> None:
    assert list(BOX_INTERVALS) == sorted(BOX_INTERVALS)
    assert BOX_INTERVALS[0] < timedelta(hours=1) < BOX_INTERVALS[1]


def test_unknown_rating_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown rating"):
        review(None, "meh", NOW)  # type: ignore[arg-type]


def test_due_order_puts_shaky_due_cards_first_then_new_and_leaves_out_the_rest() -> None:
    states = {
        "a": CardState(3, NOW - timedelta(days=1), 2),  # due, box 3
        "b": CardState(1, NOW - timedelta(minutes=1), 5),  # due, box 1: first
        "c": CardState(2, NOW + timedelta(days=1), 1),  # not due yet
    }
    assert due_order(["new1", "a", "b", "c", "new2"], states, NOW) == ["b", "a", "new1", "new2"]


def test_a_card_rated_hard_comes_back_within_the_sitting() -> None:
    queue = ReviewQueue(["a", "b", "c", "d", "e"])
    queue.rate("hard")  # a goes back three cards later
    assert queue.remaining == ["b", "c", "d", "a", "e"]
    queue.rate("good")
    queue.rate("good")
    queue.rate("good")
    assert queue.current == "a"
    queue.rate("easy")
    queue.rate("good")
    assert queue.current is None and queue.reviewed == 6 and queue.hard_again == 1


def test_hard_cards_are_shown_more_often_than_easy_ones_over_weeks() -> None:
    """Simulate 30 days of daily sittings: a card always rated hard is seen far more often."""
    states: dict[str, CardState] = {}
    seen = {"hard": 0, "easy": 0}
    for day in range(30):
        now = NOW + timedelta(days=day)
        for card in due_order(["hard", "easy"], states, now):
            seen[card] += 1
            states[card] = review(states.get(card), "hard" if card == "hard" else "easy", now)
    assert seen["hard"] == 30
    assert seen["easy"] <= 4


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=-5), "due now"),
        (timedelta(minutes=10), "in 10 minutes"),
        (timedelta(hours=5), "in 5 hours"),
        (timedelta(days=3), "in 3 days"),
    ],
)
def test_format_due(delta: timedelta, text: str) -> None:
    assert format_due(CardState(2, NOW + delta, 1), NOW) == text
    assert format_due(None, NOW) == "new"


def test_parse_time_reads_the_store_format() -> None:
    assert parse_time("2026-03-02T09:00:00.000Z") == NOW
