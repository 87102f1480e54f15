"""python manage.py scan_alerts [--date YYYY-MM-DD]: the daily alert scan, by hand."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from supervision.alerts import scan_alerts


class Command(BaseCommand):
    help = "Evaluate every alert rule and the traffic lights (what the daily job does)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--date", help="Judge as on this day (YYYY-MM-DD); default today.")

    def handle(self, *args, date=None, **options) -> None:
        try:
            today = dt.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError:
            raise CommandError(f"Not a date: {date!r} (use YYYY-MM-DD).") from None
        result = scan_alerts(today=today)
        self.stdout.write(
            f"{today}: {result.opened} alert(s) opened, {result.changed} changed, "
            f"{result.resolved} resolved; {result.lights} light(s) changed; "
            f"{result.escalated} overdue issue(s) stepped to 督办."
        )
