"""Per-project secrets: encrypted at rest, decrypted only when used, never shown to the LLM.

By job: `store` (set, list, read, delete, rotate the key), `crypto` (encryption bound to the
secret's project and name: pgcrypto on Postgres, AES-256-GCM on SQLite), `credentials` (secrets
as n8n credentials, bound to workflow nodes at deploy and updated in place when a value changes).
"""

from core.secrets.credentials import CredentialsAPI, resync_credentials, sync_project_credentials
from core.secrets.crypto import SecretKeyMismatch, SecretMisplaced
from core.secrets.store import (
    MAX_VALUE_CHARS,
    NAME_RE,
    SecretInfo,
    check_name,
    delete_secret,
    get_secret_value,
    list_secrets,
    rotate_key,
    secret_key,
    secret_types,
    set_secret,
)

__all__ = [
    "MAX_VALUE_CHARS",
    "NAME_RE",
    "CredentialsAPI",
    "SecretInfo",
    "SecretKeyMismatch",
    "SecretMisplaced",
    "check_name",
    "delete_secret",
    "get_secret_value",
    "list_secrets",
    "resync_credentials",
    "rotate_key",
    "secret_key",
    "secret_types",
    "set_secret",
    "sync_project_credentials",
]
