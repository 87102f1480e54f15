"""What can be checked of the deployment files without a Docker engine."""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path

import yaml
from django.conf import settings

from tracker.celery import app

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_words(service: dict) -> list[str]:
    command = service["command"]
    return command if isinstance(command, list) else shlex.split(command)


def test_compose_has_the_five_services():
    services = compose()["services"]
    assert set(services) == {"db", "redis", "web", "worker", "beat"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert "SECRET_KEY" in env and "ALLOWED_HOSTS" in env


def test_compose_commands_name_real_modules():
    services = compose()["services"]
    web = " ".join(command_words(services["web"]))
    assert "manage.py migrate" in web
    wsgi_module, _, attribute = web.split("gunicorn ")[1].split()[0].partition(":")
    assert hasattr(importlib.import_module(wsgi_module), attribute)
    for name, subcommand in (("worker", "worker"), ("beat", "beat")):
        words = command_words(services[name])
        assert words[:4] == ["celery", "-A", "tracker", subcommand]
    assert importlib.import_module("tracker").celery_app is app


def test_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


def test_dockerfile_serves_the_wsgi_app():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    assert "tracker.wsgi:application" in dockerfile
    assert "collectstatic" in dockerfile and "compilemessages" in dockerfile
