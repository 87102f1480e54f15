from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = _("Projects")

    def ready(self) -> None:
        from projects import signals, tallies  # noqa: F401
        from projects.views import ledgers

        ledgers.register_exports()
