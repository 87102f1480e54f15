from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from tracker import outbox


class Command(BaseCommand):
    help = "Send the due outbox messages to the Celery broker (beat does it every minute)."

    def handle(self, *args, **options) -> None:
        sent = outbox.dispatch_pending()
        pending, _oldest = outbox.backlog()
        self.stdout.write(
            _("Sent %(sent)d; %(pending)d waiting.") % {"sent": sent, "pending": pending}
        )
