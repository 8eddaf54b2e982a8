"""National ID numbers (số định danh cá nhân): validation and keyed look-up hashes.

The clear number is only ever written inside encrypted event state; look-ups use an
HMAC keyed from the cipher key, so the hash cannot be reversed by trying all numbers
without the key.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

_NATIONAL_ID = re.compile(r"[0-9]{12}")


def national_id_problem(value: str) -> str | None:
    """Why a 12-digit personal identification number is malformed, or None.

    Layout: 3 digits province of birth registration (001–096), 1 digit century and
    gender (0–9), 2 digits birth year, 6 digits random.
    """
    if not _NATIONAL_ID.fullmatch(value):
        return "must be exactly 12 digits"
    province = int(value[:3])
    if not 1 <= province <= 96:
        return "the first three digits must be a province code 001–096"
    return None


def national_id_hash(cipher_key: str, national_id: str) -> str:
    """HMAC-SHA256 of the number under a key derived from the cipher key (hex)."""
    key = hashlib.sha256(b"audit-service national-id v1" + base64.b64decode(cipher_key)).digest()
    return hmac.new(key, national_id.encode("ascii"), hashlib.sha256).hexdigest()
