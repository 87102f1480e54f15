"""The audit trail: every change on the domain models, with who made it."""

from __future__ import annotations

from decimal import Decimal

from projects import services


def test_project_changes_are_recorded_with_their_author(project_a, reporter_a, supervisor):
    services.project_update(project=project_a, actor=reporter_a, total_investment=Decimal("13000"))
    services.project_set_red_card(
        project=project_a, actor=supervisor, red_card=True, reason="连续两月未填报"
    )
    records = list(project_a.history.order_by("history_date", "history_id"))
    assert [r.history_type for r in records] == ["+", "~", "~"]
    assert [r.history_user for r in records] == [reporter_a, reporter_a, supervisor]
    assert records[1].total_investment == Decimal("13000")
    delta = records[2].diff_against(records[1])
    assert {c.field for c in delta.changes} >= {"red_card", "red_card_reason"}


def test_many_to_many_changes_are_recorded(project_a, reporter_a, unit_b):
    services.project_update(project=project_a, actor=reporter_a, cooperating_units=[unit_b])
    latest = project_a.history.latest()
    assert [row.unit_id for row in latest.cooperating_units.all()] == [unit_b.pk]
