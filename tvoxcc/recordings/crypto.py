"""Encryption at rest: AES-256-GCM (the ``cryptography`` package) over a recording's whole file.

A file is MAGIC + a 12-byte random nonce + the ciphertext with its 16-byte tag; MAGIC is also the
associated data, so a file cut or spliced fails to decrypt instead of yielding garbage audio.
Keys come from the settings, inline (base64) or from a file; they are never logged or printed.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tvoxcc.config import RecordingSettings

MAGIC = b"TVOXCC-REC-AESGCM-1\n"
NONCE_BYTES = 12
KEY_BYTES = 32


class RecordingKeyError(Exception):
    """A key is missing, malformed, or does not open a file. Messages never contain key material."""


def encrypt(key: bytes, audio: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, audio, MAGIC)


def is_encrypted(blob: bytes) -> bool:
    return blob.startswith(MAGIC)


def decrypt(key: bytes, blob: bytes) -> bytes:
    if not is_encrypted(blob):
        raise RecordingKeyError("not an encrypted recording")
    nonce = blob[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, blob[len(MAGIC) + NONCE_BYTES :], MAGIC)
    except InvalidTag:
        raise RecordingKeyError("the key does not open this recording, or the file was altered") from None


def _decode(material: bytes, where: str) -> bytes:
    if len(material) == KEY_BYTES:
        return material
    try:
        key = base64.b64decode(material.strip(), validate=True)
    except binascii.Error:
        raise RecordingKeyError(f"{where}: not base64 of {KEY_BYTES} bytes") from None
    if len(key) != KEY_BYTES:
        raise RecordingKeyError(f"{where}: a key must be {KEY_BYTES} bytes, this one is {len(key)}")
    return key


def tenant_key(settings: RecordingSettings, tenant: str) -> bytes | None:
    """The tenant's key, or None when its recordings are kept in clear."""
    config = settings.tenants.get(tenant)
    if config is None:
        return None
    where = f"recordings.tenants.{tenant}"
    if config.key is not None:
        return _decode(config.key.get_secret_value().encode(), f"{where}.key")
    if config.key_file is not None:
        try:
            material = config.key_file.read_bytes()
        except OSError as exc:
            raise RecordingKeyError(f"{where}.key_file: cannot read {config.key_file}: {exc.strerror}") from None
        return _decode(material, f"{where}.key_file ({config.key_file})")
    return None


def new_key() -> str:
    """A fresh key as the settings take it (base64)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()
