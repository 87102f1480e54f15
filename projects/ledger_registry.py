"""Ledgers other apps add to /ledgers/ (台账导入导出), without projects depending on them.

An app registers a ``LedgerExport`` at start-up (in its AppConfig's ``ready``): supervision adds
its issue ledger and its rankings. The ledgers page lists every registered export the user may
use, and ``/ledgers/export/<key>/`` hands the request to the export's view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class ExportParam:
    """A choice an export needs (a unit, a period, a ranking…): the GET parameter's name, its
    label, and a function giving the user's (value, label) options, the default first."""

    name: str
    label: str
    options: Callable[[HttpRequest], list[tuple[str, str]]]


@dataclass(frozen=True)
class LedgerExport:
    key: str
    label: str
    description: str
    view: Callable[[HttpRequest], HttpResponse]
    params: tuple[ExportParam, ...] = ()
    # Whether the user may use it at all (default: every logged-in user).
    allowed: Callable[[HttpRequest], bool] | None = None
    order: int = 100


_EXPORTS: dict[str, LedgerExport] = {}


def register(export: LedgerExport) -> None:
    _EXPORTS[export.key] = export


def get(key: str) -> LedgerExport | None:
    return _EXPORTS.get(key)


def exports(request: HttpRequest) -> list[LedgerExport]:
    found = sorted(_EXPORTS.values(), key=lambda export: (export.order, export.key))
    return [e for e in found if e.allowed is None or e.allowed(request)]
