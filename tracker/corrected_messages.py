"""Messages of Django itself whose Chinese this project corrects (locale/zh_Hans, which takes
precedence over Django's catalogs): one garbled message, and the password messages, which
Django's catalog writes with 你 where the rest of the site says 您. Listed here so that
``make messages-update`` keeps them in the catalog; nothing imports this module."""

from django.utils.translation import gettext_noop, ngettext_lazy

CORRECTED = [
    gettext_noop("Null characters are not allowed."),
    gettext_noop("The password is too similar to the %(verbose_name)s."),
    gettext_noop("Your old password was entered incorrectly. Please enter it again."),
    gettext_noop("Your password can’t be too similar to your other personal information."),
    gettext_noop("Your password can’t be a commonly used password."),
    gettext_noop("Your password can’t be entirely numeric."),
    ngettext_lazy(
        "Your password must contain at least %(min_length)d character.",
        "Your password must contain at least %(min_length)d characters.",
        "min_length",
    ),
]
