"""Stored events as the chain sees them: (originator id, version, topic, state, recorded-at)."""
from __future__ import annotations

from typing import Any

from .chain import originator_text, recorded_at_of


def plain_state(mapper: Any, state: bytes) -> bytes | None:
    """The state after decryption and decompression; None if it cannot be read."""
    try:
        if mapper.cipher:
            state = mapper.cipher.decrypt(state)
        if mapper.compressor:
            state = mapper.compressor.decompress(state)
    except Exception:  # noqa: BLE001 - an unreadable (tampered) state is still hashed
        return None
    return state


def record_of(notification: Any, mapper: Any) -> tuple[str, int, str, bytes, str]:
    """The chained fields of a notification; recorded-at comes from the state's timestamp."""
    state = bytes(notification.state)
    plain = state if not (mapper.cipher or mapper.compressor) else plain_state(mapper, state)
    return (originator_text(notification.originator_id), int(notification.originator_version),
            notification.topic, state, recorded_at_of(plain) if plain is not None else "")
