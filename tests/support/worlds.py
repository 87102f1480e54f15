"""Data sets that several tests only read, built once for a module and rolled back after it.

A module-scoped fixture builds its objects inside ``built_once`` (a transaction held open for the
module, at the suite's fixed moment); each test then runs in a savepoint of it (pytest-django's
``db``), so whatever a test writes is undone before the next one, and the whole data set is gone
when the module is done. Tests get a deep copy of the built objects, so that an instance one test
changes in memory is not the next test's starting point (as Django's setUpTestData does).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import time_machine
from django.db import transaction

# Domain tests run at a fixed moment: 2026-11-21 10:00 Asia/Shanghai.
NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@contextlib.contextmanager
def built_once(django_db_blocker, moment: dt.datetime = NOW) -> Iterator[None]:
    """Database access at ``moment`` inside a transaction that is rolled back on exit."""
    with django_db_blocker.unblock(), time_machine.travel(moment, tick=False):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def fresh(objects):
    """A test's own copy of what a module built."""
    return copy.deepcopy(objects)
