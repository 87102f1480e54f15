"""Money is kept in 万元 (Decimal); large amounts are read in 亿元."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

TEN_THOUSAND = Decimal(10000)


def format_wan(amount: Decimal | int | float | None) -> str:
    """ "1,160万元" below 1亿, "15.93亿元" from 1亿 on; "—" for no value."""
    if amount is None or amount == "":  # a template's missing value arrives as ""
        return "—"
    value = Decimal(amount)
    if abs(value) >= TEN_THOUSAND:
        yi = (value / TEN_THOUSAND).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return _("%(amount)s hundred million yuan") % {"amount": f"{yi:,}"}
    wan = value.quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return _("%(amount)s ten thousand yuan") % {"amount": f"{wan:,}"}
