"""Import an Excel ledger from the command line, as /ledgers/ does:
``manage.py import_ledger <file.xlsx> --unit <id> [--progress --period 2026-10] [--year 2026]
[--user NAME] [--skip-errors] [--commit]``.

Without ``--commit`` it only prints the preview (every row new, changed, unchanged or an error
with its reason) and writes nothing; with ``--commit`` the kept rows are written in one
transaction, and nothing at all when a kept row has an error.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from projects import ledger_import, selectors
from projects.models import ImportKind, ImportStatus, Membership, RowStatus, Unit
from tracker import periods


class Command(BaseCommand):
    help = "Import a project ledger or a month of progress from an .xlsx file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--unit", type=int, required=True, help="id of the importing unit")
        parser.add_argument(
            "--progress", action="store_true", help="a monthly progress sheet (else a ledger)"
        )
        parser.add_argument("--period", default="", help="period of a progress sheet (2026-10)")
        parser.add_argument("--year", type=int, help="plan year of a ledger (default: this year)")
        parser.add_argument(
            "--user",
            default="",
            help="who imports (default: a superuser, else a writing member of the unit)",
        )
        parser.add_argument(
            "--skip-errors", action="store_true", help="leave out the rows with errors"
        )
        parser.add_argument("--commit", action="store_true", help="write (default: preview only)")

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        unit = Unit.objects.filter(pk=options["unit"]).first()
        if unit is None:
            raise CommandError(f"No unit with id {options['unit']}")
        actor = self._actor(options["user"], unit)
        kind = ImportKind.PROGRESS if options["progress"] else ImportKind.PROJECTS
        period_key = ""
        if kind == ImportKind.PROGRESS:
            try:
                period = (
                    periods.parse(options["period"])
                    if options["period"]
                    else ledger_import.due_period()
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            if period.kind != selectors.report_period_kind():
                raise CommandError(f"Reports are written per {selectors.report_period_kind()}.")
            period_key = period.key
        try:
            batch = ledger_import.run_file(
                actor=actor,
                unit=unit,
                kind=kind,
                filename=path.name,
                data=path.read_bytes(),
                year=options["year"] or timezone.localdate().year,
                period_key=period_key,
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        if batch.status == ImportStatus.FAILED:
            raise CommandError(batch.message)
        self._print_preview(batch)
        if not options["commit"]:
            self.stdout.write("Preview only: nothing was written (add --commit to import).")
            return
        try:
            ledger_import.confirm(
                batch, actor=actor, skipped=set(), skip_errors=options["skip_errors"]
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        batch = ledger_import.commit(batch.pk)
        if batch.status != ImportStatus.DONE:
            raise CommandError(batch.message)
        result = batch.result
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported: {result['created']} new, {result['updated']} changed, "
                f"{result['unchanged']} unchanged, {result['skipped']} left out "
                f"(import #{batch.pk})."
            )
        )

    def _actor(self, username: str, unit: Unit):
        users = get_user_model().objects
        if username:
            actor = users.filter(username=username).first()
            if actor is None:
                raise CommandError(f"No user {username!r}")
            return actor
        actor = users.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if actor is None:
            membership = (
                Membership.objects.filter(
                    unit__in=unit.ancestors(include_self=True), role__in=selectors.EDIT_ROLES
                )
                .select_related("user")
                .first()
            )
            actor = membership.user if membership else None
        if actor is None:
            raise CommandError("No user may import for this unit: pass --user.")
        return actor

    def _print_preview(self, batch) -> None:
        for row in batch.rows:
            if row["status"] == RowStatus.UNCHANGED:
                continue
            line = f"row {row['row']:>5}  {row['status']:<9} {row['name']}"
            details = row["errors"] or [
                f"{c['field']}: {c['old']} → {c['new']}" for c in row["changes"]
            ]
            self.stdout.write(line + ("  — " + "; ".join(details) if details else ""))
        counts = batch.counts
        self.stdout.write(
            f"{counts.get('total', 0)} rows: {counts.get('new', 0)} new, "
            f"{counts.get('changed', 0)} changed, {counts.get('unchanged', 0)} unchanged, "
            f"{counts.get('error', 0)} with errors."
        )
        if batch.message:
            self.stdout.write(batch.message)
