"""Readable audit history: who changed what, when (from django-simple-history)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import models

from projects.models import Leader, Project, Unit

# Bookkeeping fields that change on every save and say nothing to a reader.
QUIET_FIELDS = {"version", "updated_at", "stage_changed_on", "history_change_reason"}


@dataclass
class FieldChange:
    label: str
    old: str
    new: str


@dataclass
class AuditEntry:
    when: dt.datetime
    who: str
    kind: str  # "+", "~", "-"
    changes: list[FieldChange] = field(default_factory=list)


def _display(model: type[models.Model], name: str, value, names: dict) -> str:
    if value in (None, ""):
        return "—"
    model_field = model._meta.get_field(name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.ForeignKey):
        return names.get((model_field.related_model, value), str(value))
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return str(value)


def _concrete_names(model: type[models.Model]) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.name not in QUIET_FIELDS and f.name != "id" and f.editable
    ]


def history_entries(instance: models.Model, *, limit: int = 20) -> list[AuditEntry]:
    """The last ``limit`` changes of ``instance``, newest first, each with its field changes.

    Three queries whatever the length: the history rows, then the names of units and leaders
    that foreign keys point to.
    """
    model = type(instance)
    records = list(
        instance.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : limit + 1
        ]
    )
    names = _fk_names(model, records)
    fields = _concrete_names(model)
    entries = []
    for newer, older in zip(records, [*records[1:], None], strict=True):
        if len(entries) == limit:
            break
        changes = []
        for name in fields:
            attname = model._meta.get_field(name).attname
            new = getattr(newer, attname)
            old = getattr(older, attname) if older is not None else None
            if older is not None and new == old:
                continue
            if older is None and new in (None, "", False):
                continue
            changes.append(
                FieldChange(
                    label=str(model._meta.get_field(name).verbose_name),
                    old=_display(model, name, old, names) if older is not None else "",
                    new=_display(model, name, new, names),
                )
            )
        user = newer.history_user
        entries.append(
            AuditEntry(
                when=newer.history_date,
                who=(user.get_full_name() or user.username) if user else "—",
                kind=newer.history_type,
                changes=changes,
            )
        )
    return entries


def _fk_names(model: type[models.Model], records: list) -> dict:
    wanted: dict[type[models.Model], set[int]] = {}
    for model_field in model._meta.concrete_fields:
        if isinstance(model_field, models.ForeignKey) and model_field.related_model in (
            Unit,
            Leader,
            Project,
        ):
            ids = {getattr(r, model_field.attname) for r in records} - {None}
            wanted.setdefault(model_field.related_model, set()).update(ids)
    names = {}
    for related, ids in wanted.items():
        if ids:
            for pk, label in related.objects.filter(pk__in=ids).values_list("pk", "name"):
                names[(related, pk)] = label
    return names


def changes_since(instance: models.Model, version: int) -> tuple[list[FieldChange], AuditEntry]:
    """What others changed since ``version`` (the one the user edited), and the latest change."""
    model = type(instance)
    old = instance.history.filter(version=version).order_by("-history_date", "-history_id").first()
    latest = (
        instance.history.select_related("history_user")
        .order_by("-history_date", "-history_id")
        .first()
    )
    names = _fk_names(model, [r for r in (old, latest) if r is not None])
    changes = []
    if old is not None and latest is not None:
        for name in _concrete_names(model):
            attname = model._meta.get_field(name).attname
            if getattr(old, attname) != getattr(latest, attname):
                changes.append(
                    FieldChange(
                        label=str(model._meta.get_field(name).verbose_name),
                        old=_display(model, name, getattr(old, attname), names),
                        new=_display(model, name, getattr(latest, attname), names),
                    )
                )
    user = latest.history_user if latest else None
    entry = AuditEntry(
        when=latest.history_date if latest else instance.updated_at,
        who=(user.get_full_name() or user.username) if user else "—",
        kind="~",
        changes=changes,
    )
    return changes, entry
