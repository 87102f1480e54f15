from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackerConfig(AppConfig):
    # Two configurations live in this module: this one is the "tracker" app's.
    default = True
    name = "tracker"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from tracker import checks  # noqa: F401 - registers the system checks


class LoginProtectionConfig(AxesAppConfig):
    """django-axes under a name the Chinese admin shows (its own config has none)."""

    default = False
    verbose_name = _("Login protection")
