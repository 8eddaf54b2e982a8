"""Rebuild the English catalogue: extract the Vietnamese messages from the pages, take
their English from ``en.txt`` (one ``vietnamese|english`` per line), write and compile
``en/LC_MESSAGES/messages.po``/``.mo``. Run: ``python -m web.translations.build``."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def english() -> dict[str, str]:
    found = {}
    with open(os.path.join(HERE, "en.txt"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                vi, en = line.rstrip("\n").split("|", 1)
                found[vi] = en
    return found


def extract():
    """The messages the pages use (a babel catalogue, extracted from the sources)."""
    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, "messages.pot")
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                        os.path.join(ROOT, "web", "babel.cfg"), "-k", "_", "-k", "gettext",
                        "--omit-header", "-o", pot, ROOT], check=True, cwd=ROOT, capture_output=True)
        with open(pot, "rb") as f:
            return read_po(f, locale="en")


def main() -> int:
    english_of = english()
    catalog = extract()
    missing = [m.id for m in catalog if m.id and m.id not in english_of]
    for message in catalog:
        if message.id:
            message.string = english_of.get(message.id, "")
            message.locations = []
    out = os.path.join(HERE, "en", "LC_MESSAGES")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "messages.po"), "wb") as f:
        write_po(f, catalog, omit_header=True)
    with open(os.path.join(out, "messages.mo"), "wb") as f:
        write_mo(f, catalog)
    if missing:
        print("no English for:", *missing, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
