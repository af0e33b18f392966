"""Provides the flashcard schedule: Leitner boxes with growing intervals, and the review queue.

A card lives in one of five boxes. Rating it *hard* sends it back to box 1, due again in a few
minutes (and, within a sitting, a few cards later); *good* moves it up one box and *easy* two, each
box waiting longer than the one before (a new card counts as box 1). Cards never reviewed are new
and due at once. Everything
here is pure: the caller passes "now" and the stored state, and stores what comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

__all__ = [
    "BOX_INTERVALS",
    "RATINGS",
    "CardState",
    "Rating",
    "ReviewQueue",
    "due_order",
    "format_due",
    "parse_time",
    "review",
]

Rating = Literal["hard", "good", "easy"]
"""How well the trainee knew the answer."""

RATINGS: tuple[Rating, ...] = ("hard", "good", "easy")

BOX_INTERVALS: tuple[timedelta, ...] = (
    timedelta(minutes=10),
    timedelta(days=1),
    timedelta(days=3),
    timedelta(days=7),
    timedelta(days=21),
)
"""How long a card waits after a review that leaves it in box 1, 2, 3, 4 or 5."""

MAX_BOX = len(BOX_INTERVALS)

REQUEUE_GAP = 3
"""Within a sitting, a card rated hard comes back after this many other cards."""


@dataclass(frozen=True)
class CardState:
    """Where a card stands for one learner."""

    box: int
    """1 (shaky) to 5 (well known); 0 for a card never reviewed."""
    due: datetime
    """When the card should be shown again."""
    reviews: int = 0
    """How many times it was rated."""

    @property
    def is_new(self) -> bool:
        """True for a card never reviewed."""
        return self.reviews == 0


def parse_time(text: str) -> datetime:
    """Parse the store's ISO 8601 timestamps (``...Z``) into aware datetimes."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def review(state: CardState | None, rating: Rating, now: datetime) -> CardState:
    """Apply one rating.

    Args:
        state: the card's state, or None for a new card.
        rating: hard, good or easy.
        now: the time of the review.

    Returns:
        The new state: hard → box 1; good → one box up; easy → two boxes up (a new card counts as
        box 1, so "good" already waits a day and only "hard" brings it back in the same sitting).
    """
    box = state.box if state is not None else 0
    reviews = state.reviews if state is not None else 0
    if rating == "hard":
        new_box = 1
    elif rating == "good":
        new_box = min(MAX_BOX, max(box, 1) + 1)
    elif rating == "easy":
        new_box = min(MAX_BOX, max(box, 1) + 2)
    else:
        raise ValueError(f"unknown rating {rating!r} (expected one of {', '.join(RATINGS)})")
    return CardState(new_box, now + BOX_INTERVALS[new_box - 1], reviews + 1)


def due_order(cards: Iterable[str], states: Mapping[str, CardState], now: datetime) -> list[str]:
    """Return the cards due at ``now``, in the order to show them.

    Reviewed cards that are due come first, lowest box first (the shakiest), then oldest due; new
    cards follow in the order given. Cards not yet due are left out.
    """
    due: list[tuple[int, datetime, str]] = []
    new: list[str] = []
    for card in cards:
        state = states.get(card)
        if state is None or state.is_new:
            new.append(card)
        elif state.due <= now:
            due.append((state.box, state.due, card))
    due.sort()
    return [card for _, _, card in due] + new


def format_due(state: CardState | None, now: datetime) -> str:
    """Describe when a card is due, e.g. 'new', 'due now', 'in 10 minutes', 'in 3 days'."""
    if state is None or state.is_new:
        return "new"
    delta = state.due - now
    seconds = delta.total_seconds()
    if seconds <= 0:
        return "due now"
    if seconds < 3600:
        minutes = max(1, round(seconds / 60))
        return f"in {minutes} minute{'s' if minutes != 1 else ''}"
    if seconds < 86400:
        hours = round(seconds / 3600)
        return f"in {hours} hour{'s' if hours != 1 else ''}"
    days = round(seconds / 86400)
    return f"in {days} day{'s' if days != 1 else ''}"


class ReviewQueue:
    """The cards of one sitting: due cards first; a card rated hard comes back a few cards later.

    Args:
        cards: card ids in the order to show them (see :func:`due_order`).
    """

    def __init__(self, cards: Iterable[str]) -> None:
        self._queue: list[str] = list(cards)
        self.reviewed = 0
        """How many ratings were given in this sitting."""
        self.hard_again = 0
        """How many times a card rated hard was put back into the sitting."""

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def current(self) -> str | None:
        """The card to show now, or None when the sitting is over."""
        return self._queue[0] if self._queue else None

    @property
    def remaining(self) -> list[str]:
        """The cards still to show, in order."""
        return list(self._queue)

    def rate(self, rating: Rating) -> None:
        """Take the current card off the front; a hard one goes back ``REQUEUE_GAP`` cards later."""
        if not self._queue:
            return
        card = self._queue.pop(0)
        self.reviewed += 1
        if rating == "hard":
            self._queue.insert(min(REQUEUE_GAP, len(self._queue)), card)
            self.hard_again += 1
