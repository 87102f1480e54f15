"""The Chinese catalog is complete: every msgid in the code is translated, placeholders match."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polib
import pytest

from tests.support.commands import manage

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
SOURCES = ["manage.py", "tracker", "projects", "supervision", "templates"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]|\{(\w+)\}")


def placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text))


def catalog() -> polib.POFile:
    return polib.pofile(str(CATALOG))


def test_every_entry_is_translated_and_not_fuzzy():
    po = catalog()
    assert not [e.msgid for e in po.untranslated_entries()]
    assert not [e.msgid for e in po.fuzzy_entries()]


def test_placeholders_match():
    def translations(entry: polib.POEntry) -> list[str]:
        return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]

    mismatched = [
        e.msgid
        for e in catalog().translated_entries()
        if any(placeholders(e.msgid) != placeholders(text) for text in translations(e))
    ]
    assert not mismatched


def test_only_named_placeholders_with_several_values():
    # Positional %s with more than one value cannot be reordered by a translator.
    assert not [e.msgid for e in catalog() if len(re.findall(r"%[sdif]", e.msgid)) > 1]


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext is installed by make test")
def test_no_string_in_the_code_is_missing_from_the_catalog(tmp_path):
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / "locale").mkdir()
    result = manage(
        "makemessages",
        "-l",
        "zh_Hans",
        "--no-location",
        "--no-wrap",
        cwd=tmp_path,
        own_settings=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    fresh = polib.pofile(str(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    known = {(e.msgctxt, e.msgid) for e in catalog().translated_entries()}
    missing = [e.msgid for e in fresh if (e.msgctxt, e.msgid) not in known]
    assert not missing, f"run `make messages-update` and translate: {missing}"


def test_djangos_own_messages_read_as_the_rest_of_the_site():
    """Django's catalog garbles the NUL-character message and addresses the user as 你 in its
    password messages; ours (tracker/corrected_messages.py) says 您, as every page does."""
    from django.contrib.auth.password_validation import password_validators_help_texts
    from django.core.validators import ProhibitNullCharactersValidator
    from django.utils import translation

    with translation.override("zh-hans"):
        assert str(ProhibitNullCharactersValidator.message) == "不能含有空字符（NUL）。"
        texts = " ".join(str(text) for text in password_validators_help_texts())
    assert texts and "你" not in texts


def test_no_message_is_translated_inside_an_f_string():
    """makemessages does not see ``_("…")`` inside an f-string: such a message is never put in
    the catalog and stays English (a download was named "project ledger template-2026.xlsx")."""
    import re
    from pathlib import Path

    from django.conf import settings

    root = Path(settings.BASE_DIR)
    hidden = [
        f"{path.relative_to(root)}:{number}"
        for package in ("tracker", "projects", "supervision")
        for path in (root / package).rglob("*.py")
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"""f(["']).*\{\s*(_|gettext|pgettext|ngettext)\(""", line)
    ]
    assert hidden == []
