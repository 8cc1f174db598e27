"""Per-subject encryption keys: the port, and the cipher that uses them.

Personal data is encrypted with its subject's key before it is stored (AES-256-GCM, the
subject and field bound in as associated data so a ciphertext cannot be moved to another
field or person). Deleting the key erases the data in every event and every copy of the
log at once, while the log itself stays immutable (crypto-shredding).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Collection, Mapping
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc:v1:"


class KeyStore(Protocol):
    async def get_or_create(self, subjects: Collection[str]) -> Mapping[str, bytes]:
        """The keys of ``subjects``, creating the missing ones (unless erased)."""
        ...

    async def get(self, subjects: Collection[str]) -> Mapping[str, bytes]:
        """The keys that exist; erased or never-created subjects are left out."""
        ...

    async def erase(self, subject: str) -> None:
        """Delete the key for good; its subject's data can no longer be decrypted."""
        ...

    async def is_erased(self, subject: str) -> bool: ...

    async def close(self) -> None: ...


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def encrypt(key: bytes, subject: str, field: str, plaintext: str) -> str:
    """``enc:v1:<subject>:<base64 nonce+ciphertext>``: the subject (an id, not personal data)
    travels with the value, so a reader knows which key opens it without knowing the event."""
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), f"{subject}\x00{field}".encode())
    return f"{PREFIX}{subject}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def subject_of(token: str) -> str:
    return token[len(PREFIX) :].rsplit(":", 1)[0]


def decrypt(key: bytes, field: str, token: str) -> str:
    subject, b64 = token[len(PREFIX) :].rsplit(":", 1)
    raw = base64.b64decode(b64)
    try:
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], f"{subject}\x00{field}".encode())
    except InvalidTag as e:
        raise ValueError(f"ciphertext of {field!r} does not belong to {subject!r}") from e
    return plain.decode()


def is_encrypted(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)
