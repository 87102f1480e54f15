"""System checks of the platform's own settings (`manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def oc4ids_prefix_registered(app_configs, **kwargs) -> list[Warning]:
    if settings.TRACKER_OC4IDS_PREFIX != settings.OC4IDS_PLACEHOLDER_PREFIX:
        return []
    return [
        Warning(
            "TRACKER_OC4IDS_PREFIX is the placeholder oc4ids-xxxxxx: the OC4IDS export's project "
            "identifiers are not globally unique.",
            hint="Register a project identifier prefix with the OC4IDS helpdesk and set "
            "TRACKER_OC4IDS_PREFIX to it (docs/oc4ids.md).",
            id="tracker.W001",
        )
    ]
