from decimal import Decimal

import pytest
from django.utils import translation

from tracker.money import format_wan


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("1160"), "1,160万元"),
        (Decimal("9999.4"), "9,999万元"),
        (Decimal("10000"), "1.00亿元"),
        (Decimal("1592690"), "159.27亿元"),
        (0, "0万元"),
        (None, "—"),
    ],
)
def test_amounts_read_in_wan_or_yi(amount, text):
    with translation.override("zh-hans"):
        assert format_wan(amount) == text
