"""Ed25519 signing keys for checkpoints, and the auditing settings from the environment.

The private key never enters the database: it comes from a file (``AUDIT_SIGNING_KEY_FILE``)
or an environment variable (``AUDIT_SIGNING_KEY``), as base64 of the raw 32-byte seed (what
``audit-service keys generate`` writes) or, in a file, as a PKCS#8 PEM. The public key is
stored in ``integrity_keys`` so that exports carry every key ever used (rotation).
"""
from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from audit_service.errors import ConfigurationError

from .chain import access_checkpoint_payload, checkpoint_payload, key_id_of, rotation_payload

DEFAULT_EVERY_EVENTS = 1000
DEFAULT_EVERY_SECONDS = 60.0


class Signer:
    """An Ed25519 private key with its public half and key id."""

    def __init__(self, private_key):
        from cryptography.hazmat.primitives import serialization

        self._key = private_key
        self.public_raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_b64 = base64.b64encode(self.public_raw).decode()
        self.key_id = key_id_of(self.public_raw)

    @classmethod
    def from_seed(cls, seed: bytes) -> "Signer":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def generate(cls) -> "Signer":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.generate())

    def seed_b64(self) -> str:
        from cryptography.hazmat.primitives import serialization

        raw = self._key.private_bytes(serialization.Encoding.Raw,
                                      serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())
        return base64.b64encode(raw).decode()

    def sign(self, checkpoint: dict) -> str:
        """The base64 signature of a checkpoint (its ``key_id`` must be this key's)."""
        if checkpoint.get("key_id") != self.key_id:
            raise ValueError("the checkpoint names another key")
        return base64.b64encode(self._key.sign(checkpoint_payload(checkpoint))).decode()

    def sign_access(self, checkpoint: dict) -> str:
        """The base64 signature of an access-log checkpoint (a signed head of that log)."""
        if checkpoint.get("key_id") != self.key_id:
            raise ValueError("the checkpoint names another key")
        return base64.b64encode(self._key.sign(access_checkpoint_payload(checkpoint))).decode()

    def rotation_to(self, new: "Signer", created_at: str) -> dict:
        """A key rotation statement naming ``new`` as this key's successor, signed by both."""
        statement = {"old_key_id": self.key_id, "old_public_key": self.public_b64,
                     "new_key_id": new.key_id, "new_public_key": new.public_b64,
                     "created_at": created_at}
        payload = rotation_payload(statement)
        statement["old_signature"] = base64.b64encode(self._key.sign(payload)).decode()
        statement["new_signature"] = base64.b64encode(new._key.sign(payload)).decode()
        return statement

    def public_record(self, valid_from: str) -> dict:
        return {"key_id": self.key_id, "algorithm": "ed25519", "public_key": self.public_b64,
                "valid_from": valid_from}


def parse_key(text: str | bytes, source: str) -> Signer:
    """A signer from base64 of a raw 32-byte seed, or from a PKCS#8 PEM (unencrypted)."""
    data = text.encode() if isinstance(text, str) else text
    if data.lstrip().startswith(b"-----BEGIN"):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"{source}: not a usable PEM private key ({exc})",
                                     code="bad_signing_key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{source}: the PEM key is not an Ed25519 key",
                                     code="bad_signing_key")
        return Signer(key)
    try:
        seed = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{source} is not valid base64", code="bad_signing_key") from None
    if len(seed) != 32:
        raise ConfigurationError(
            f"{source} decodes to {len(seed)} bytes; an Ed25519 key is 32"
            " (make one with: audit-service keys generate)", code="bad_signing_key")
    return Signer.from_seed(seed)


def load_signer(environ: dict | None = None) -> Signer | None:
    """The configured signing key, or None when neither variable is set."""
    environ = os.environ if environ is None else environ
    path = (environ.get("AUDIT_SIGNING_KEY_FILE") or "").strip()
    if path:
        try:
            text = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"AUDIT_SIGNING_KEY_FILE {path!r}: {exc.strerror or exc}",
                                     code="bad_signing_key") from None
        return parse_key(text, f"AUDIT_SIGNING_KEY_FILE {path!r}")
    value = (environ.get("AUDIT_SIGNING_KEY") or "").strip()
    if value:
        return parse_key(value, "AUDIT_SIGNING_KEY")
    return None


def _public_records(text: str, source: str) -> list[dict]:
    """Key records in a trusted-key file: JSON (one record, a list, or one per line) or
    bare base64 public keys, one per line."""
    import json

    text = text.strip()
    try:
        parsed = json.loads(text)
        items = parsed if isinstance(parsed, list) else [parsed]
    except ValueError:
        items = [json.loads(line) if line.startswith("{") else line
                 for line in (raw.strip() for raw in text.splitlines()) if line]
    return [item if isinstance(item, dict) else {"public_key": item} for item in items]


def parse_trusted_keys(specs: "list[str] | tuple[str, ...]",
                       source: str = "--trusted-key") -> dict[str, dict]:
    """Pinned public keys, by key id, from FILE or BASE64 items (a raw 32-byte key each)."""
    keys: dict[str, dict] = {}
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        path = Path(spec)
        try:
            records = (_public_records(path.read_text(encoding="utf-8"), f"{source} {spec}")
                       if path.is_file() else [{"public_key": spec}])
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"{source} {spec!r}: {exc}", code="bad_trusted_key") from None
        for record in records:
            try:
                raw = base64.b64decode(str(record.get("public_key", "")), validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != 32:
                raise ConfigurationError(f"{source} {spec[:60]!r} is neither a readable file nor"
                                         " the base64 of a 32-byte Ed25519 public key",
                                         code="bad_trusted_key")
            key_id = key_id_of(raw)
            keys[key_id] = {"key_id": key_id, "public_key": base64.b64encode(raw).decode(),
                            "valid_from": record.get("valid_from")}
    return keys


def trusted_keys_from_env(environ: dict | None = None) -> dict[str, dict]:
    """``AUDIT_TRUSTED_KEYS``: FILE or BASE64 items separated by commas or spaces."""
    environ = os.environ if environ is None else environ
    text = environ.get("AUDIT_TRUSTED_KEYS") or ""
    return parse_trusted_keys(text.replace(",", " ").split(), "AUDIT_TRUSTED_KEYS")


def pinned_keys(specs: "list[str] | tuple[str, ...]" = (),
                environ: dict | None = None) -> dict[str, dict] | None:
    """The keys a verification trusts, all from outside the database: ``specs``
    (``--trusted-key``), ``AUDIT_TRUSTED_KEYS`` and this service's own signing key. None when
    there are none (the verification then falls back to the stored keys, and says so)."""
    keys = trusted_keys_from_env(environ)
    keys.update(parse_trusted_keys(list(specs)))
    signer = load_signer(environ)
    if signer is not None:
        keys.setdefault(signer.key_id, {"key_id": signer.key_id,
                                        "public_key": signer.public_b64, "valid_from": None})
    return keys or None


def write_key_file(path: str | Path, signer: Signer) -> None:
    """Write the base64 seed to a new file readable by its owner only."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(signer.seed_b64() + "\n")


@dataclass(frozen=True)
class AuditSettings:
    """How often checkpoints are made, and the key that signs them (None: unsigned)."""

    every_events: int = DEFAULT_EVERY_EVENTS
    every_seconds: float = DEFAULT_EVERY_SECONDS
    signer: Signer | None = None
    witness_dir: str | None = None  # where each checkpoint is also written (outside the DB)

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "AuditSettings":
        environ = os.environ if environ is None else environ
        return cls(every_events=_positive(environ, "AUDIT_CHECKPOINT_EVERY_EVENTS",
                                          DEFAULT_EVERY_EVENTS, int),
                   every_seconds=_positive(environ, "AUDIT_CHECKPOINT_EVERY_SECONDS",
                                           DEFAULT_EVERY_SECONDS, float),
                   signer=load_signer(environ),
                   witness_dir=(environ.get("AUDIT_CHECKPOINT_WITNESS_DIR") or "").strip()
                   or None)


def _positive(environ: dict, name: str, default, kind):
    text = (environ.get(name) or "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ConfigurationError(f"{name} {text!r} is not a number",
                                 code="bad_configuration") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive", code="bad_configuration")
    return value
