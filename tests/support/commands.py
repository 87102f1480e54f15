"""``python manage.py`` in a process of its own, as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The variables `make test` sets for the suite; a deployment sets its own.
TEST_RUN_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
)


def manage(
    *args: str, cwd: Path = ROOT, own_settings: bool = True, timeout: int = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run manage.py with the settings module a deployment uses (tracker.settings, not the test
    profile) and ``env`` on top. With ``own_settings``, the test run's own settings variables are
    left out, so the command sees only what ``env`` says (an empty environment is the demo)."""
    base = {k: v for k, v in os.environ.items() if not (own_settings and k in TEST_RUN_SETTINGS)}
    base["DJANGO_SETTINGS_MODULE"] = "tracker.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
