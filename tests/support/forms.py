"""POST data as a browser sends it for the formsets of the supervision pages."""

from __future__ import annotations

import datetime as dt


def issue_row(unit, deadline: dt.date, **fields) -> dict:
    """One row of an "issues raised" formset (inspections, meetings)."""
    row = {
        "title": "征地拆迁进度滞后",
        "category": "land_acquisition",
        "unit": unit,
        "deadline": deadline,
        "requirement": "月底前完成剩余12户房屋征收",
        "description": "",
        "project": None,
        "leader": None,
    }
    row.update(fields)
    return row


def formset_data(prefix: str, rows: list[dict], *, total: int | None = None) -> dict:
    """POST data of a formset: ``rows`` (field → value as typed), padded with blanks."""
    total = total if total is not None else max(3, len(rows))
    data = {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "30",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data
