"""The rows the migrations write (the default 倒排 milestone templates), kept across the flushes of
transactional tests.

A transactional test (a browser test against the live server, a test with a real Celery worker)
commits, so pytest-django empties every table after it. Django's own runner runs such tests last;
under pytest-xdist they may run before other tests on the same worker, which would then find no
milestone templates. conftest.py takes a copy of these rows before the first transactional test
and puts them back after each one.
"""

from __future__ import annotations

from django.apps import apps
from django.core import serializers
from django.db import transaction

OUR_APPS = ("projects", "supervision")


def _models():
    return [
        model
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models()
        if not model._meta.proxy and model._meta.managed
    ]


def snapshot() -> str:
    """Every row of our apps' tables, as JSON (right after migrating: the templates only)."""
    rows = [obj for model in _models() for obj in model._base_manager.order_by("pk")]
    return serializers.serialize("json", rows)


def restore(data: str) -> None:
    with transaction.atomic():
        for obj in serializers.deserialize("json", data):
            obj.save()
