"""Create an API token for a user and print it once (the database keeps only its hash).

    python manage.py create_api_token jtj --write --name "statistics export" --expires-days 90

The token alone goes to standard output, so that ``TOKEN=$(… create_api_token jtj)`` works;
what was created is described on standard error.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from projects import tokens


class Command(BaseCommand):
    help = "Create an API token for a user and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--write", action="store_true", help="read-write token (default: read-only)"
        )
        parser.add_argument("--name", default="command line", help="what the token is for")
        parser.add_argument(
            "--expires-days", type=int, default=None, help="days until the token expires"
        )

    def handle(self, *args, username: str, write: bool, name: str, expires_days, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        if not user.is_active:
            raise CommandError(f"User {username!r} is disabled.")
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1.")
        expires_at = timezone.now() + dt.timedelta(days=expires_days) if expires_days else None
        token, secret = tokens.token_create(
            user=user, name=name, write=write, expires_at=expires_at, actor=None
        )
        expiry = timezone.localtime(expires_at).isoformat() if expires_at else "never"
        self.stderr.write(
            f"Created {token.scope} token {token.name!r} (trk_{token.prefix}…) for {username}, "
            f"expires: {expiry}. It is shown only now:"
        )
        self.stdout.write(secret)
