"""A week's free times, computed once and used again while nothing that makes them has changed.

The database raises a clinician's slot_version whenever one of their appointments, time off or
working hours is written (migration 0012's triggers, whatever wrote it). A computed week is kept
under the versions of every clinician in it, with the visit's length, the days and the zone; a
page reads the versions (one small query) and uses the week again while they are the same. A
booking on another process raises a version, so the next page anywhere computes afresh: nothing
is shared between processes but the database. What depends on the moment (the minimum notice,
the booking horizon) is applied to the kept week on every use, never kept.

Each app keeps its own, bounded: the least recently used weeks are let go first.
"""
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from flask import current_app

T = TypeVar("T")

WEEKS_KEPT = 512  # a week of a big clinic's free times is about 100 kB


class KeptWeeks(Generic[T]):
    """A bounded least-recently-used store of computed weeks, safe to share between threads."""

    def __init__(self, size: int = WEEKS_KEPT):
        self.size = size
        self._weeks: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._weeks:
                self._weeks.move_to_end(key)
                return self._weeks[key]
        value = compute()  # outside the lock: two threads may both compute a missing week, once each
        with self._lock:
            self._weeks[key] = value
            while len(self._weeks) > self.size:
                self._weeks.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._weeks)


def kept_weeks() -> KeptWeeks:
    """This app's store (each app its own: tests make many apps on many databases)."""
    return current_app.extensions.setdefault("portal.kept_weeks", KeptWeeks())

