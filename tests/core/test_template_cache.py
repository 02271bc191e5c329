"""The template library's derived cache: a library read from it retrieves exactly what one read
from nodes.db does, and a stale, corrupt or unwritable cache only costs time, never a crash."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from core.catalog import default_catalog
from core.generation.retrieval import first_message
from core.generation.template_cache import cache_file
from core.generation.templates import DEFAULT_DB_PATH, TemplateLibrary


def _node(name: str, type_: str, parameters: dict[str, Any], version: float = 1) -> dict[str, Any]:
    return {
        "id": name,
        "name": name,
        "type": type_,
        "typeVersion": version,
        "position": [0, 0],
        "parameters": parameters,
    }


B = "n8n-nodes-base."
WORKFLOWS: list[tuple[str, str, dict[str, Any] | str]] = [
    (
        "RSS to Slack",
        "Post new RSS feed items to a Slack channel every morning.",
        {
            "nodes": [
                _node("Every morning", B + "scheduleTrigger", {"rule": {"interval": [{}]}}, 1.2),
                _node("Feed", B + "rssFeedRead", {"url": "https://example.com/feed"}),
                _node(
                    "Post", B + "slack", {"resource": "message", "text": "={{ $json.title }}"}, 2
                ),
            ],
            "connections": {"Feed": {"main": [[{"node": "Post", "type": "main", "index": 0}]]}},
        },
    ),
    (
        "Gmail attachments to Google Drive",
        "Saves every attachment of incoming emails to a Drive folder.",
        {
            "nodes": [
                _node("Mail", B + "gmailTrigger", {"filters": {}, "downloadAttachments": True}),
                _node("Save", B + "googleDrive", {"operation": "upload", "name": "x"}, 3),
                _node("Note", B + "stickyNote", {"content": "setup"}),
            ],
            "connections": {},
        },
    ),
    (
        "Sheets rows to Slack",
        "When a row is added to Google Sheets, send a Slack message.",
        {
            "nodes": [
                _node("Row added", B + "googleSheetsTrigger", {"event": "rowAdded"}),
                _node("Tell", B + "slack", {"text": "new row", "select": "channel"}, 2.2),
            ],
            "connections": {},
        },
    ),
    ("Emptied", "All parameters stripped.", {"nodes": [_node("A", B + "slack", {})]}),
    ("Broken", "Not base64 of gzip.", "%%%not-a-template%%%"),
]
REQUESTS = [
    "send a slack message when a new row is added to google sheets",
    "save gmail attachments to google drive",
    "post rss items to slack every morning",
    "nothing here matches at all",
]


def _write_db(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE templates (id INTEGER PRIMARY KEY, name TEXT, description TEXT, "
            "workflow_json_compressed TEXT)"
        )
        for i, (name, description, wf) in enumerate(WORKFLOWS, start=1):
            packed = wf if isinstance(wf, str) else _pack(wf)
            conn.execute(
                "INSERT INTO templates VALUES (?, ?, ?, ?)", (i, name, description, packed)
            )


def _pack(workflow: dict[str, Any]) -> str:
    return base64.b64encode(gzip.compress(json.dumps(workflow).encode())).decode()


def _retrieved(lib: TemplateLibrary) -> dict[str, Any]:
    """Everything retrieval asks a library, for a few requests and every node type."""
    types = sorted(lib.type_counts())
    return {
        "dropped": lib.dropped_emptied,
        "templates": [
            (t.id, t.name, t.description, sorted(t.node_types), t.node_count, t.workflow)
            for t in lib.templates
        ],
        "type_counts": dict(lib.type_counts()),
        "similar": {r: [t.id for t in lib.similar(r, k=5)] for r in REQUESTS},
        "covering": {r: [t.id for t in lib.covering(r, types, k=2)] for r in REQUESTS},
        "configurations": {t: lib.versioned_configurations(t) for t in [*types, B + "nope"]},
        "usage": {t: lib.operation_usage(t) for t in types},
    }


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "nodes.db"
    _write_db(path)
    return path


def _load_without_reading_nodes_db(db: Path, cache_dir: Path) -> TemplateLibrary:
    """A library that can only have come from the cache (reading nodes.db fails)."""
    with pytest.MonkeyPatch.context() as mp:

        def refuse(_db: Path) -> None:
            raise AssertionError("nodes.db was read although the cache is fresh")

        mp.setattr(TemplateLibrary, "_read_database", staticmethod(refuse))
        return TemplateLibrary.load(db, cache_dir=cache_dir)


def test_a_cached_library_retrieves_what_nodes_db_gives(db: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    uncached = TemplateLibrary.load(db)
    first = TemplateLibrary.load(db, cache_dir=cache)  # writes the cache
    assert cache_file(db, cache).is_file()
    cached = _load_without_reading_nodes_db(db, cache)

    expected = _retrieved(uncached)
    assert expected["dropped"] == 1 and len(expected["templates"]) == 3
    assert _retrieved(first) == expected
    assert _retrieved(cached) == expected


def test_copies_of_a_nodes_db_that_is_gone_are_deleted(db: Path, tmp_path: Path) -> None:
    """A removed checkout (a CI clone) leaves no 52 MB copy behind in the shared cache dir."""
    cache = tmp_path / "cache"
    gone = tmp_path / "old-checkout" / "nodes.db"
    gone.parent.mkdir()
    _write_db(gone)
    TemplateLibrary.load(gone, cache_dir=cache)
    old_copy = cache_file(gone, cache)
    assert old_copy.is_file()
    gone.unlink()
    TemplateLibrary.load(db, cache_dir=cache)  # the next copy written sweeps the dir
    assert not old_copy.exists()
    assert cache_file(db, cache).is_file()


def test_a_changed_nodes_db_rebuilds_the_cache(db: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    TemplateLibrary.load(db, cache_dir=cache)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM templates WHERE name = 'RSS to Slack'")
    os.utime(db, ns=(0, db.stat().st_mtime_ns + 1_000_000))

    lib = TemplateLibrary.load(db, cache_dir=cache)

    assert "RSS to Slack" not in {t.name for t in lib.templates}
    assert _retrieved(_load_without_reading_nodes_db(db, cache)) == _retrieved(lib)


@pytest.mark.parametrize("garbage", [b"", b"\x00not marshal", b"\xfb\x01\x02"])
def test_a_corrupt_cache_is_logged_and_rebuilt(
    db: Path, tmp_path: Path, garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    cache_file(db, cache).write_bytes(garbage)

    with caplog.at_level(logging.WARNING):
        lib = TemplateLibrary.load(db, cache_dir=cache)

    assert _retrieved(lib) == _retrieved(TemplateLibrary.load(db))
    assert "template cache" in caplog.text
    assert _retrieved(_load_without_reading_nodes_db(db, cache)) == _retrieved(lib)


def test_a_cache_of_the_wrong_shape_is_rebuilt(db: Path, tmp_path: Path) -> None:
    import marshal

    cache = tmp_path / "cache"
    TemplateLibrary.load(db, cache_dir=cache)
    path = cache_file(db, cache)
    data = marshal.loads(path.read_bytes())  # noqa: S302 - the file this test just wrote
    data["templates"] = [("too", "short")]
    path.write_bytes(marshal.dumps(data))

    lib = TemplateLibrary.load(db, cache_dir=cache)

    assert _retrieved(lib) == _retrieved(TemplateLibrary.load(db))


def test_an_unwritable_cache_dir_still_loads(
    db: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")

    with caplog.at_level(logging.WARNING):
        lib = TemplateLibrary.load(db, cache_dir=blocker / "cache")

    assert _retrieved(lib) == _retrieved(TemplateLibrary.load(db))
    assert "could not be written" in caplog.text


# The real nodes.db (~2,300 templates) through the whole first message, both ways.
@pytest.mark.integration
@pytest.mark.parametrize(
    "request_text",
    [
        *REQUESTS[:3],
        "every weekday at 9am post the top 5 hacker news stories to #dev",
        "slack bot: when someone mentions @helper, an ai agent with memory answers using our "
        "notion docs and can search the web",
        "extract name, company and budget from inbound emails with an llm into structured json "
        "and add to airtable",
    ],
)
def test_the_real_library_gives_the_same_first_message_cached(
    request_text: str, real_libraries: tuple[TemplateLibrary, TemplateLibrary]
) -> None:
    uncached, cached = real_libraries
    catalog = default_catalog()
    a = first_message(text=request_text, catalog=catalog, templates=uncached)
    b = first_message(text=request_text, catalog=catalog, templates=cached)
    assert a.node_types == b.node_types
    assert a.specs == b.specs
    assert a.candidates == b.candidates
    assert [t.id for t in a.retrieval.examples] == [t.id for t in b.retrieval.examples]
    assert a.retrieval.context == b.retrieval.context
    assert a.tokens == b.tokens


@pytest.fixture(scope="module")
def real_libraries(
    n8n_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[TemplateLibrary, TemplateLibrary]:
    cache = tmp_path_factory.mktemp("template-cache")
    TemplateLibrary.load(DEFAULT_DB_PATH, cache_dir=cache)
    return (
        TemplateLibrary.load(DEFAULT_DB_PATH),
        _load_without_reading_nodes_db(DEFAULT_DB_PATH, cache),
    )
