"""The node catalog: shipped snapshot, rebuild from an installed n8n, search."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import main
from core.catalog import (
    SNAPSHOT_PATH,
    default_catalog,
    find_nodes_json,
    load_catalog,
    refresh_snapshot,
)


def test_snapshot_knows_the_common_nodes() -> None:
    cat = default_catalog()
    assert len(cat) > 500
    iff = cat.get("n8n-nodes-base.if")
    assert iff is not None and 2.2 in iff.versions and 1.0 in iff.versions
    cls = iff.version_class(2.2)
    assert cls is not None and cls.outputs == ("main", "main")
    assert cat.get("n8n-nodes-base.scheduleTrigger").is_trigger  # type: ignore[union-attr]
    assert not cat.get("n8n-nodes-base.manualTrigger").is_trigger  # type: ignore[union-attr]
    assert cat.get("n8n-nodes-base.webhook").is_trigger  # type: ignore[union-attr]
    http = cat.get("n8n-nodes-base.httpRequest")
    assert http is not None and http.version_class(4.2) is not None
    assert "url" in {p.name for p in http.version_class(4.2).params if p.required}  # type: ignore[union-attr]
    agent = cat.get("@n8n/n8n-nodes-langchain.agent")
    assert agent is not None
    assert "slackApi" in cat.get("n8n-nodes-base.slack").credentials  # type: ignore[union-attr]


def test_closest_type_fixes_missing_prefix_and_case() -> None:
    cat = default_catalog()
    assert cat.closest_type("httpRequest") == "n8n-nodes-base.httpRequest"
    assert cat.closest_type("n8n-nodes-base.HttpRequest") == "n8n-nodes-base.httpRequest"
    assert cat.closest_type("n8n-nodes-base.slak") == "n8n-nodes-base.slack"


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("every morning post new items of this RSS feed to #news", "n8n-nodes-base.rssFeedRead"),
        ("when a row is added to a google sheet send a gmail", "n8n-nodes-base.gmail"),
        ("post a message to slack", "n8n-nodes-base.slack"),
    ],
)
def test_search_finds_the_needed_node(request_text: str, expected: str) -> None:
    found = [s.type for s in default_catalog().search(request_text, 8)]
    assert expected in found


def test_refresh_rebuilds_from_installed_n8n(tmp_path: Path, n8n_install: Path) -> None:
    assert find_nodes_json(n8n_install), "n8n's node descriptions are missing under .stack"
    out = tmp_path / "catalog.json.gz"
    assert main(["catalog", "refresh", "--from", str(n8n_install), "--out", str(out)]) == 0
    fresh = load_catalog(out)
    shipped = load_catalog(SNAPSHOT_PATH)
    assert fresh.n8n_version
    if fresh.n8n_version == shipped.n8n_version:
        assert set(fresh.nodes) == set(shipped.nodes)


def test_refresh_without_n8n_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        refresh_snapshot(tmp_path, tmp_path / "x.json.gz")
