"""A derived copy of the template library, so a process loads it in tens of milliseconds instead
of decoding and tokenizing ~2,300 gzip'd workflows from n8n-mcp's `nodes.db` (about a second).

The file holds plain data only (ints, strings, bytes, tuples, frozensets, dicts) written with
`marshal` by `TemplateLibrary.load` itself: never code, never pickle. It lives in the user's
cache dir (`~/.cache/clixen/`), one file per `nodes.db` path, and is valid only for that file's
exact size and mtime, this module's `CACHE_FORMAT` and this Python's marshal version; a copy
whose `nodes.db` is gone is deleted the next time a copy is written (`forget_gone`). Anything
else (stale, unreadable, corrupt, unwritable) means the slow path, logged once, never a crash.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Bump when what `TemplateLibrary.load` derives from a template changes (tokens, mining…).
CACHE_FORMAT = 1
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "clixen"


def cache_file(db: Path, cache_dir: Path) -> Path:
    """Where the derived library of `db` is kept (one file per database path)."""
    digest = hashlib.sha256(str(db.resolve()).encode()).hexdigest()[:16]
    return cache_dir / f"templates-{digest}.marshal"


def _key(db: Path) -> tuple[Any, ...]:
    st = db.stat()
    return (
        CACHE_FORMAT,
        marshal.version,
        sys.version_info[:2],
        str(db.resolve()),
        st.st_size,
        st.st_mtime_ns,
    )


def read_cache(db: Path, cache_dir: Path) -> dict[str, Any] | None:
    """The data `write_cache` stored for `db` as it is now, or None (missing, stale or corrupt)."""
    path = cache_file(db, cache_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        log.warning("template cache %s is unreadable (%s): loading from %s", path, e, db)
        return None
    try:
        data = marshal.loads(raw)  # noqa: S302 - our own file of plain data (see above)
    except (EOFError, ValueError, TypeError) as e:
        log.warning("template cache %s is corrupt (%s): rebuilding it from %s", path, e, db)
        return None
    if not isinstance(data, dict) or data.get("key") != _key(db):
        return None  # stale: nodes.db changed, or our format did
    return data


def write_cache(db: Path, cache_dir: Path, data: dict[str, Any]) -> None:
    """Store `data` (plain values only) as the derived library of `db`; atomic, best effort."""
    path = cache_file(db, cache_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = marshal.dumps({**data, "key": _key(db)})
        # A reader in another process sees the old file or the new one, never half of one.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        path.with_suffix(".source").write_text(str(db.resolve()))
    except (OSError, ValueError) as e:
        log.warning("template cache %s could not be written (%s): next load is slow too", path, e)
        return
    forget_gone(cache_dir)


def forget_gone(cache_dir: Path) -> None:
    """Delete the copies whose `nodes.db` no longer exists (a removed checkout, a CI clone), so
    the cache dir holds one file per installed n8n-mcp, not one per checkout ever made."""
    for source in cache_dir.glob("templates-*.source"):
        try:
            if Path(source.read_text().strip()).is_file():
                continue
            source.with_suffix(".marshal").unlink(missing_ok=True)
            source.unlink(missing_ok=True)
        except OSError:
            continue
