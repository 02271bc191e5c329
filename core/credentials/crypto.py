"""Encryption of secret values, bound to their project and name.

On Postgres the `secrets.ciphertext` column holds pgcrypto output (`pgp_sym_encrypt`), with the key
from CLIXEN_SECRET_KEY sent only as a bound parameter (engines hide parameters from logs and
errors); the encrypted text starts with a header naming the project id and the secret (pgcrypto's
integrity check keeps it from being edited), checked on every decryption. On the embedded SQLite
default the same interface uses AES-256-GCM in Python with a key derived by scrypt from
CLIXEN_SECRET_KEY and a per-row salt and nonce; the project id and the secret's name are
authenticated with it. Either way a ciphertext copied onto another secret's row does not decrypt.
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import String, bindparam, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.kernel.errors import ClixenError
from core.kernel.models import Secret

_SQLITE_MAGIC: Final = b"CXS1"
_SALT_LEN, _NONCE_LEN = 16, 12


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


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --- encryption -------------------------------------------------------------------------------


BINDING_PREFIX: Final = "clixen-secret:"


def _aad(project_id: int, name: str) -> bytes:
    return f"{BINDING_PREFIX}{project_id}:{name}".encode()


def _pg_header(project_id: int, name: str) -> str:
    # Secret names never hold a newline (NAME_RE), so the first one ends the header.
    return _aad(project_id, name).decode() + "\n"


def _derive(key: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(key.encode())


def encrypt(session: Session, *, value: str, key: str, project_id: int, name: str) -> bytes:
    if is_postgres(session):
        ciphertext = session.scalar(
            select(
                func.pgp_sym_encrypt(
                    bindparam("secret_value", _pg_header(project_id, name) + value, type_=String),
                    bindparam("secret_key", key, type_=String),
                )
            )
        )
        assert isinstance(ciphertext, bytes)
        return ciphertext
    salt, nonce = os.urandom(_SALT_LEN), os.urandom(_NONCE_LEN)
    sealed = AESGCM(_derive(key, salt)).encrypt(nonce, value.encode(), _aad(project_id, name))
    return _SQLITE_MAGIC + salt + nonce + sealed


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
            with session.begin_nested():  # a wrong key must not abort the caller's transaction
                plain = session.scalar(
                    select(
                        func.pgp_sym_decrypt(
                            bindparam("ciphertext", ciphertext),
                            bindparam("secret_key", key, type_=String),
                            type_=String,
                        )
                    )
                )
        except DBAPIError:
            # Not chained: the driver's error would carry the bound key into tracebacks.
            raise SecretKeyMismatch() from None
        assert isinstance(plain, str)
        header = _pg_header(project_id, name)
        if plain.startswith(header):
            return plain[len(header) :]
        if plain.startswith(BINDING_PREFIX):
            raise SecretMisplaced(name)
        # Stored before values were bound (no header): still readable; `rotate_key` binds it.
        return plain
    blob = bytes(ciphertext)
    if not blob.startswith(_SQLITE_MAGIC):
        raise SecretKeyMismatch()
    body = blob[len(_SQLITE_MAGIC) :]
    salt, nonce, sealed = body[:_SALT_LEN], body[_SALT_LEN : _SALT_LEN + _NONCE_LEN], body[28:]
    try:
        plain_bytes = AESGCM(_derive(key, salt)).decrypt(nonce, sealed, _aad(project_id, name))
    except InvalidTag:
        raise SecretKeyMismatch() from None
    return plain_bytes.decode()
