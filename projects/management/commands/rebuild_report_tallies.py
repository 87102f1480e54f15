"""Recompute every report tally from the reports: ``manage.py rebuild_report_tallies [--check]``.

The tallies are kept exact as reports and projects change (``projects.tallies``); this is for
after writing reports outside the application (a bulk load, a repair in SQL). ``--check``
writes nothing and exits with status 1 when a stored tally differs from the reports.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from projects import tallies


class Command(BaseCommand):
    help = "Recompute the report tallies the rankings read from the progress reports."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="only compare, write nothing")

    def handle(self, *args, check: bool, **options) -> None:
        if check:
            differ = len(tallies.differences())
            if differ:
                raise CommandError(
                    _("%(count)d report tallies (unit and period) differ from the reports.")
                    % {"count": differ}
                )
            self.stdout.write(_("The report tallies match the reports."))
            return
        began = time.monotonic()
        rows = tallies.refresh()
        self.stdout.write(
            _("Report tallies rebuilt: %(rows)d rows in %(seconds).1f s.")
            % {"rows": rows, "seconds": time.monotonic() - began}
        )
