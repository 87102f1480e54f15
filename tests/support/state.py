"""What a refused write must leave alone: every row of the domain's tables."""

from __future__ import annotations

from django.apps import apps

# Written by any authenticated request (the token's last use), not by the write under test.
BOOKKEEPING = {"ApiToken", "IdempotencyKey"}


def domain_state() -> dict[str, list[tuple]]:
    """Every row of every table of ``projects`` and ``supervision``, their history and
    many-to-many tables included: equal before and after a request means it wrote nothing.
    Meant for the small data sets of permission tests."""
    state: dict[str, list[tuple]] = {}
    for label in ("projects", "supervision"):
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if model.__name__ in BOOKKEEPING:
                continue
            state[model._meta.db_table] = list(model.objects.order_by("pk").values_list())
    return state


def changed_tables(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> list[str]:
    return sorted(table for table in before if before[table] != after.get(table))
