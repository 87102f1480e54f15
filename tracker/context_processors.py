from django.utils.translation import gettext_lazy as _

SITE_NAME = _("Key Project Scheduling and Supervision Platform")


def site(request) -> dict[str, object]:
    return {"platform_name": SITE_NAME}
