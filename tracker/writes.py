"""The one write core of the services (projects/services.py, supervision/issues/services.py,
supervision/inspections/services.py): locking a record, optimistic concurrency, saving a validated
record with its author.

Records edited by several people carry a ``version`` (projects, milestones, reports, funding,
applications, targets, issues, inspections, meetings): a page or an API client sends the version
it loaded, and a write against another one is refused with ``VersionConflict``, nothing written.
Every save of such a record that exists gives it its next version (``save``), and a change below
it (scores, photos, issues raised in a meeting) does too (``touch``), so that ETags and
``updated_since`` see it.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol, TypeVar, cast

from django.db import models
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

Record = TypeVar("Record", bound=models.Model)


class Versioned(Protocol):
    """A record with a ``version`` field (the models say so in their fields, not in a base)."""

    version: int


def _version(instance: models.Model) -> int:
    return cast(Versioned, instance).version


def _next_version(instance: models.Model) -> None:
    cast(Versioned, instance).version += 1


class VersionConflict(Exception):
    """Someone else saved the object since the actor loaded it; nothing was written."""

    def __init__(self, instance: models.Model, expected: int) -> None:
        self.instance = instance
        self.expected = expected
        super().__init__(
            _(
                "This record was changed by someone else (version %(current)d, you edited "
                "version %(expected)d). Reload it and apply your change again."
            )
            % {"current": _version(instance), "expected": expected}
        )


def is_versioned(instance: models.Model) -> bool:
    return _has_version_field(type(instance))


@functools.cache
def _has_version_field(model: type[models.Model]) -> bool:
    return any(field.name == "version" for field in model._meta.concrete_fields)


def check_version(instance: models.Model, expected_version: int | None) -> None:
    """Refuse a write made against another version than the record's (None: not asked)."""
    if expected_version is not None and _version(instance) != expected_version:
        raise VersionConflict(instance, expected_version)


def lock(
    records: type[Record] | QuerySet[Record], pk: int, expected_version: int | None = None
) -> Record:
    """The record ``pk``, read again and locked (``SELECT … FOR UPDATE`` of its own row only,
    whatever ``records`` joins) until the transaction ends; refused with ``VersionConflict``
    when ``expected_version`` is given and is not its version."""
    queryset = records if isinstance(records, QuerySet) else records._default_manager.all()
    locked = queryset.select_for_update(of=("self",)).get(pk=pk)
    check_version(locked, expected_version)
    return locked


def save(instance: models.Model, actor, **kwargs: Any) -> None:
    """Validate (``full_clean``: fields, ``clean()``, constraints with their messages), record
    the author for the audit history and save; a versioned record that exists gets its next
    version."""
    instance.full_clean()
    if is_versioned(instance) and not instance._state.adding:
        _next_version(instance)
    # Read by django-simple-history, also for the M2M rows.
    setattr(instance, "_history_user", actor)  # noqa: B010 (an attribute models do not declare)
    instance.save(**kwargs)


def touch(instance: models.Model) -> None:
    """A change below the record: its next version and a new ``updated_at``, without a history
    row for fields that did not change."""
    type(instance)._default_manager.filter(pk=instance.pk).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    _next_version(instance)
