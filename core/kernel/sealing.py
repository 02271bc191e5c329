"""Values sealed at rest under CLIXEN_SECRET_KEY, each bound to the row it belongs to.

On Postgres a sealed value is pgcrypto output (`pgp_sym_encrypt`) of `<binding>\\n<value>`: the key
goes only as a bound parameter (engines hide parameters from logs and errors) and pgcrypto's
integrity check keeps the binding header from being edited. On the embedded SQLite default it is
AES-256-GCM in Python, with a key derived by scrypt from CLIXEN_SECRET_KEY and a per-value salt
and nonce, the binding authenticated as associated data. Either way a sealed value copied onto
another row does not open. `core.credentials.crypto` (project secrets) and `core.triggers`
(webhook secrets) seal through here.
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

SQLITE_MAGIC: Final = b"CXS1"
_SALT_LEN, _NONCE_LEN = 16, 12


class Unreadable(Exception):
    """The sealed value does not open with this key (or was sealed for another row). Carries no
    key, value or driver error (a chained driver error would hold the bound key)."""


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _derive(key: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(key.encode())


def pg_encrypt(session: Session, *, plain: str, key: str) -> bytes:
    """pgcrypto's `pgp_sym_encrypt(plain, key)`."""
    ciphertext = session.scalar(
        select(
            func.pgp_sym_encrypt(
                bindparam("secret_value", plain, type_=String),
                bindparam("secret_key", key, type_=String),
            )
        )
    )
    assert isinstance(ciphertext, bytes)
    return ciphertext


def pg_decrypt(session: Session, *, blob: bytes, key: str) -> str:
    """pgcrypto's `pgp_sym_decrypt`; Unreadable with a wrong key (the caller's transaction goes
    on)."""
    try:
        with session.begin_nested():
            plain = session.scalar(
                select(
                    func.pgp_sym_decrypt(
                        bindparam("ciphertext", blob),
                        bindparam("secret_key", key, type_=String),
                        type_=String,
                    )
                )
            )
    except DBAPIError:
        raise Unreadable() from None
    assert isinstance(plain, str)
    return plain


def aead_seal(*, plain: str, key: str, binding: str) -> bytes:
    salt, nonce = os.urandom(_SALT_LEN), os.urandom(_NONCE_LEN)
    sealed = AESGCM(_derive(key, salt)).encrypt(nonce, plain.encode(), binding.encode())
    return SQLITE_MAGIC + salt + nonce + sealed


def aead_open(*, blob: bytes, key: str, binding: str) -> str:
    if not blob.startswith(SQLITE_MAGIC):
        raise Unreadable()
    body = blob[len(SQLITE_MAGIC) :]
    salt, nonce = body[:_SALT_LEN], body[_SALT_LEN : _SALT_LEN + _NONCE_LEN]
    try:
        plain = AESGCM(_derive(key, salt)).decrypt(
            nonce, body[_SALT_LEN + _NONCE_LEN :], binding.encode()
        )
    except InvalidTag:
        raise Unreadable() from None
    return plain.decode()


def seal(session: Session, *, value: str, key: str, binding: str) -> bytes:
    """`value` sealed under `key` for the row `binding` names (a string without a newline)."""
    if is_postgres(session):
        return pg_encrypt(session, plain=f"{binding}\n{value}", key=key)
    return aead_seal(plain=value, key=key, binding=binding)


def unseal(session: Session, *, blob: bytes, key: str, binding: str) -> str:
    """The value `seal` sealed for `binding`; Unreadable with another key or another binding."""
    if is_postgres(session):
        plain = pg_decrypt(session, blob=bytes(blob), key=key)
        header = f"{binding}\n"
        if not plain.startswith(header):
            raise Unreadable()
        return plain[len(header) :]
    return aead_open(blob=bytes(blob), key=key, binding=binding)
