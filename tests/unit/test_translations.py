"""Every catalog translates every message of the current template."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
CATALOGS = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def message_ids(path):
    with path.open("rb") as source:
        return {message.id for message in read_po(source) if message.id}


@pytest.mark.parametrize("catalog", CATALOGS, ids=lambda path: path.parts[-3])
def test_catalog_complete(catalog):
    with catalog.open("rb") as source:
        messages = [m for m in read_po(source) if m.id]
    untranslated = [m.id for m in messages if not m.string]
    missing = message_ids(TRANSLATIONS / "messages.pot") - {m.id for m in messages}
    assert untranslated == []
    assert missing == set()


def test_catalogs_exist():
    assert [path.parts[-3] for path in CATALOGS] == ["de", "es", "ja"]
