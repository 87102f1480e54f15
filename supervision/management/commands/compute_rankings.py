"""Compute ranking snapshots by hand: the daily job, one scheme, one period, or a backfill."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from supervision import rankings
from supervision.metrics import Facts
from supervision.models import RankingScheme
from tracker import periods


class Command(BaseCommand):
    help = (
        "Compute ranking snapshots, as the daily job does: every closed period without a final "
        "snapshot, the unpublished drafts of the last TRACKER_RANKING_REFRESH_DAYS days, and "
        "the open period (provisional). Published snapshots never change."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--scheme", type=int, help="Only this scheme (id).")
        parser.add_argument("--period", help="Only this period, e.g. 2026-10 or 2026-Q3.")
        parser.add_argument(
            "--backfill",
            action="store_true",
            help="Recompute every draft since the scheme's first day, not only missing ones.",
        )
        parser.add_argument("--date", help="Act as if today were this day (YYYY-MM-DD).")

    def handle(self, *args, scheme=None, period=None, backfill=False, date=None, **options):
        try:
            today = dt.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError:
            raise CommandError(f"Not a date: {date!r} (use YYYY-MM-DD).") from None
        schemes = RankingScheme.objects.filter(is_active=True).order_by("pk")
        if scheme is not None:
            schemes = RankingScheme.objects.filter(pk=scheme)
            if not schemes.exists():
                raise CommandError(f"No ranking scheme with id {scheme}.")
        wanted = None
        if period:
            try:
                wanted = periods.parse(period)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        facts = Facts()  # shared by all schemes: the same figures are queried once
        computed = 0
        for item in schemes:
            if wanted is not None:
                todo = [wanted] if wanted.kind == item.cadence else []
            elif backfill:
                todo = list(periods.iter_between(item.cadence, item.starts_on, today))
            else:
                closed, current = rankings.due_periods(item, today)
                todo = [*closed, current]
            for p in todo:
                try:
                    snapshot = rankings.ranking_compute(
                        scheme=item, period=p, today=today, facts=facts
                    )
                except ValidationError as exc:
                    raise CommandError(f"{item} {p.key}: {'; '.join(exc.messages)}") from None
                computed += 1
                self.stdout.write(f"{item.name} {p.key}: {snapshot.get_status_display()}")
        self.stdout.write(self.style.SUCCESS(f"{computed} ranking(s) computed."))
