"""The operator's documentation stays true: every metric the product registers has its line in
README's "Operating Clixen", and the example alert rules (docs/alerts.yml) name only metrics
that exist."""

from __future__ import annotations

import re

from prometheus_client import REGISTRY

import api.middleware
import bot.metrics
import core.kernel.metrics  # noqa: F401  (registers the metrics)
from tests.conftest import REPO

SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def registered() -> set[str]:
    assert api.middleware.HTTP_REQUESTS and bot.metrics.SLACK_REQUESTS
    return {m.name for m in REGISTRY.collect() if m.name.startswith("clixen_")}


def family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_every_metric_has_its_line_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Operating Clixen", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(clixen_\w+)`", section, re.MULTILINE))
    assert documented == registered()


def test_alert_rules_name_only_metrics_that_exist() -> None:
    rules = (REPO / "docs" / "alerts.yml").read_text()
    named = {family(n) for n in re.findall(r"\bclixen_\w+", rules)}
    assert named and named <= registered(), named - registered()
