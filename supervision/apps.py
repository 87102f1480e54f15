from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = _("Supervision")

    def ready(self) -> None:
        from projects import workspace as projects_workspace
        from supervision import demo, ledger_exports, signals, workspace

        demo.connect()
        signals.connect()
        projects_workspace.register(workspace.my_issues)
        ledger_exports.register()
