"""Panels other apps add to 我的工作台 (the workspace), without projects depending on them.

An app registers a function ``panel(request) -> Panel | None`` at start-up (in its AppConfig's
``ready``); the workspace renders each panel's template with its context, in registration order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest


@dataclass
class Panel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)


_PANELS: list[Callable[[HttpRequest], Panel | None]] = []


def register(panel: Callable[[HttpRequest], Panel | None]) -> None:
    if panel not in _PANELS:
        _PANELS.append(panel)


def panels(request: HttpRequest) -> list[Panel]:
    return [p for p in (panel(request) for panel in _PANELS) if p is not None]
