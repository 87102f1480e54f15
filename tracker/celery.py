"""The Celery app. The beat schedule lives in settings (CELERY_BEAT_SCHEDULE)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")

# Every task accepts outbox messages (tracker/outbox.py): claimed before, marked done after.
app = Celery("tracker", task_cls="tracker.outbox:OutboxTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
