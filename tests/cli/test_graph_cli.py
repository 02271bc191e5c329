"""`clixen graph`: the picture Slack shows, from a JSON file or a stored version, with changes
marked; it starts without the database or network packages when given a file."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from cli.context import CLI_TEAM_ID
from core.deploy import create_workflow_record
from core.kernel.models import WorkflowVersion
from core.kernel.settings import get_settings
from core.workspace.projects import default_project
from tests.cli.common import run
from tests.cli.test_startup import HEAVY, run_clixen
from tests.core.graph.samples import if_and_merge
from tests.workflows import schedule_workflow


def _png_size(path: Path) -> tuple[int, int]:
    image = Image.open(io.BytesIO(path.read_bytes()))
    assert image.format == "PNG"
    return image.size


def test_graph_of_a_file_writes_the_png_and_prints_the_outline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "orders.json"
    source.write_text(json.dumps(if_and_merge()))
    out = tmp_path / "orders.png"
    code, stdout, _ = run(capsys, "graph", str(source), "--png", str(out))
    assert code == 0
    assert "New order → Is it a big order with a long name worth wrapping? (true)" in stdout
    assert f"wrote {out} (" in stdout and "6 nodes" in stdout  # the sticky note is left out
    width, _ = _png_size(out)
    assert width <= 1600

    changed = if_and_merge()
    changed["nodes"] = [n for n in changed["nodes"] if n["name"] != "Respond"]
    changed["connections"].pop("Merge")
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(changed))
    code, stdout, _ = run(
        capsys, "graph", str(newer), "--png", str(out), "--changes-from", str(source)
    )
    assert code == 0 and "−1 (Respond)" in stdout


def test_graph_of_a_stored_version_with_changes_marked(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CLIXEN_CLI_USER", "grapher")
    get_settings.cache_clear()
    v1 = schedule_workflow("Digest")
    v2 = if_and_merge()
    with session_factory.begin() as session:
        project = default_project(session=session, team_id=CLI_TEAM_ID, user_id="cli:grapher")
        wf = create_workflow_record(
            session=session, project_id=project.id, name="Digest", created_by="cli:grapher"
        )
        for n, payload in ((1, v1), (2, v2)):
            session.add(
                WorkflowVersion(
                    workflow_id=wf.id,
                    version=n,
                    json_payload=payload,
                    checksum=hashlib.sha256(json.dumps(payload).encode()).hexdigest(),
                    source="import",
                    status="deployed" if n == 2 else "superseded",
                    created_by="cli:grapher",
                )
            )
        wf.head_version = 2
    out = tmp_path / "digest.png"
    try:
        code, stdout, _ = run(capsys, "graph", "Digest", "--png", str(out), "--version", "1")
        assert code == 0 and "Every morning → Shape item" in stdout
        code, stdout, _ = run(capsys, "graph", "digest", "--png", str(out), "--changes-from", "1")
        assert code == 0 and "+6 nodes" in stdout and "−2 (Every morning, Shape item)" in stdout
        assert _png_size(out)[0] <= 1600
        code, _, err = run(capsys, "graph", "Nope", "--png", str(out))
        assert code == 1 and "Nope" in err
    finally:
        get_settings.cache_clear()


@pytest.mark.integration  # a fresh interpreter: a process of ours
def test_graph_of_a_file_loads_no_heavy_package(tmp_path: Path) -> None:
    source = tmp_path / "orders.json"
    source.write_text(json.dumps(if_and_merge()))
    out, loaded = run_clixen("graph", str(source), "--png", str(tmp_path / "o.png"))
    assert "wrote" in out
    assert sorted(loaded.intersection(HEAVY)) == []


def test_without_graphviz_the_cli_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.graph import engines

    monkeypatch.setattr(engines.shutil, "which", lambda _name: None)
    source = tmp_path / "orders.json"
    source.write_text(json.dumps(if_and_merge()))
    out = tmp_path / "orders.png"
    code, stdout, stderr = run(capsys, "graph", str(source), "--png", str(out))
    assert code == 0 and "layout: simple" in stdout
    assert "apt-get install graphviz" in stderr
    code, _, stderr = run(capsys, "graph", str(source), "--png", str(out), "--layout", "dot")
    assert code == 1 and "Graphviz `dot` is not installed" in stderr


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ('{"nodes": 3}', '"nodes" must be a list'),
        ('{"nodes": [1, {"name": "A"}]}', 'each with a "name" and a "type"'),
        ('{"nodes": [], "connections": []}', '"connections" must be an object'),
        ("[1, 2]", "must hold one workflow object"),
        ("{not json", "is not JSON"),
    ],
)
def test_a_malformed_file_is_named_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, said: str
) -> None:
    source = tmp_path / "broken.json"
    source.write_text(content)
    for argv in (("graph", str(source), "--png", str(tmp_path / "x.png")), ("test", str(source))):
        code, _, err = run(capsys, *argv)
        assert code == 1 and said in err and "Traceback" not in err
