"""Encryption of secret values, bound to their project and name.

On Postgres the `secrets.ciphertext` column holds pgcrypto output (`pgp_sym_encrypt`), with the key
from CLIXEN_SECRET_KEY sent only as a bound parameter (engines hide parameters from logs and
errors); the encrypted text starts with a header naming the project id and the secret (pgcrypto's
integrity check keeps it from being edited), checked on every decryption. On the embedded SQLite
default the same interface uses AES-256-GCM in Python with a key derived by scrypt from
CLIXEN_SECRET_KEY and a per-row salt and nonce; the project id and the secret's name are
authenticated with it. Either way a ciphertext copied onto another secret's row does not decrypt.
The primitives are `core.kernel.sealing`'s (webhook secrets of Slack triggers use them too).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.orm import Session

from core.kernel.errors import ClixenError
from core.kernel.models import Secret
from core.kernel.sealing import Unreadable, aead_open, aead_seal, pg_decrypt, pg_encrypt
from core.kernel.sealing import is_postgres as is_postgres


class SecretKeyMismatch(ClixenError):
    """Stored secrets cannot be decrypted with the configured key."""

    code = "secret_key_mismatch"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "A stored secret could not be decrypted with CLIXEN_SECRET_KEY: set it to the key "
            "the secrets are stored under (after `clixen secret rotate`, the new key)."
        )


class SecretMisplaced(SecretKeyMismatch):
    """A stored ciphertext belongs to another secret (copied onto this row): refused."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"The stored value of secret {name} was encrypted for another secret or project; "
            "set it again."
        )


# --- encryption -------------------------------------------------------------------------------


BINDING_PREFIX: Final = "clixen-secret:"


def _aad(project_id: int, name: str) -> bytes:
    return f"{BINDING_PREFIX}{project_id}:{name}".encode()


def _pg_header(project_id: int, name: str) -> str:
    # Secret names never hold a newline (NAME_RE), so the first one ends the header.
    return _aad(project_id, name).decode() + "\n"


def encrypt(session: Session, *, value: str, key: str, project_id: int, name: str) -> bytes:
    if is_postgres(session):
        return pg_encrypt(session, plain=_pg_header(project_id, name) + value, key=key)
    return aead_seal(plain=value, key=key, binding=_aad(project_id, name).decode())


def decrypt(session: Session, *, row: Secret, key: str) -> str:
    """The plain value of a stored secret."""
    return decrypt_value(
        session, ciphertext=row.ciphertext, project_id=row.project_id, name=row.name, key=key
    )


def decrypt_value(
    session: Session, *, ciphertext: bytes, project_id: int, name: str, key: str
) -> str:
    """The plain value of `ciphertext`, sealed by `encrypt` for (`project_id`, `name`)."""
    if is_postgres(session):
        try:
            plain = pg_decrypt(session, blob=ciphertext, key=key)
        except Unreadable:
            raise SecretKeyMismatch() from None
        header = _pg_header(project_id, name)
        if plain.startswith(header):
            return plain[len(header) :]
        if plain.startswith(BINDING_PREFIX):
            raise SecretMisplaced(name)
        # Stored before values were bound (no header): still readable; `rotate_key` binds it.
        return plain
    try:
        return aead_open(blob=bytes(ciphertext), key=key, binding=_aad(project_id, name).decode())
    except Unreadable:
        raise SecretKeyMismatch() from None
