"""Every Vietnamese message of the pages has its English, and the compiled catalogue the
app loads says the same as the source list."""
from __future__ import annotations

import os

from babel.messages.mofile import read_mo

from web.translations import build


def test_every_message_has_english_in_the_compiled_catalogue():
    english = build.english()
    messages = [m.id for m in build.extract() if m.id]
    assert len(messages) > 150
    assert [m for m in messages if m not in english] == []
    with open(os.path.join(build.HERE, "en", "LC_MESSAGES", "messages.mo"), "rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id}
    assert {m: compiled.get(m) for m in messages} == {m: english[m] for m in messages}
