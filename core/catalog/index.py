"""`NodeCatalog`: node types by name (with n8n's derived `<type>Tool` variants), the closest known
type to a misspelt one, and a word search over names and descriptions."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.catalog.node_spec import NodeSpec


@dataclass(slots=True)
class NodeCatalog:
    """Node types by full name (e.g. `n8n-nodes-base.httpRequest`) with keyword search."""

    nodes: Mapping[str, NodeSpec]
    n8n_version: str = ""
    _index: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)
    _idf: dict[str, float] = field(default_factory=dict, repr=False)
    _by_lower: dict[str, str] = field(default_factory=dict, repr=False)
    _versions: dict[str, tuple[float, ...]] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_lower = {}
        for t in self.nodes:
            self._by_lower.setdefault(t.lower(), t)
            self._by_lower.setdefault(t.rsplit(".", 1)[-1].lower(), t)

    def get(self, node_type: str) -> NodeSpec | None:
        return self.nodes.get(node_type)

    def __contains__(self, node_type: object) -> bool:
        return node_type in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def versions(self) -> Mapping[str, tuple[float, ...]]:
        """Every node type this n8n knows, with its supported typeVersions (built once)."""
        if self._versions is None:
            self._versions = {t: spec.versions for t, spec in self.nodes.items()}
        return self._versions

    def closest_type(self, node_type: str) -> str | None:
        """The known type a wrong type name most likely meant (missing prefix, wrong case)."""
        if not node_type:
            return None
        hit = self._by_lower.get(node_type.lower())
        if hit:
            return hit
        short = node_type.rsplit(".", 1)[-1].lower()
        hit = self._by_lower.get(short)
        if hit:
            return hit

        shorts = [t.rsplit(".", 1)[-1].lower() for t in self.nodes]
        match = difflib.get_close_matches(short, shorts, n=1, cutoff=0.8)
        return self._by_lower.get(match[0]) if match else None

    def search(self, text: str, limit: int = 10) -> list[NodeSpec]:
        """Node types whose names, aliases and descriptions best overlap the words of `text`."""
        return [spec for spec, _ in self.search_scored(text, limit)]

    def search_scored(self, text: str, limit: int = 10) -> list[tuple[NodeSpec, float]]:
        """`search` with each hit's score (IDF-weighted overlap; higher is better)."""
        if not self._index:
            self._build_index()
        words = set(_words(text))
        scores: dict[str, float] = {}
        for w in words:
            idf = self._idf.get(w)
            if idf is None:
                continue
            for t, weight in self._index[w].items():
                scores[t] = scores.get(t, 0.0) + weight * idf
        ranked = sorted(
            scores.items(),
            # On a tie the shorter name matches more exactly ("OpenAI Chat Model" before
            # "Azure OpenAI Chat Model").
            key=lambda kv: (
                -kv[1],
                self.nodes[kv[0]].hidden,
                len(self.nodes[kv[0]].display_name),
                kv[0],
            ),
        )
        return [(self.nodes[t], score) for t, score in ranked[:limit]]

    def _build_index(self) -> None:
        index: dict[str, dict[str, float]] = {}
        for t, spec in self.nodes.items():
            weights: dict[str, float] = {}
            fields: list[tuple[Iterable[str], float]] = [
                (_words(t.rsplit(".", 1)[-1]), 3.0),
                (_words(spec.display_name), 3.0),
                # Names as users type them: "clickup", "linkedin", "openai" (not click/up…).
                (_whole_words(f"{t.rsplit('.', 1)[-1]} {spec.display_name}"), 3.0),
                (_words(" ".join(spec.aliases)), 2.0),
                (_words(" ".join(spec.categories)), 0.5),
                (_words(spec.description), 1.0),
            ]
            for ws, w in fields:
                for word in ws:
                    weights[word] = max(weights.get(word, 0.0), w)
            for word, w in weights.items():
                index.setdefault(word, {})[t] = w
        n = len(self.nodes) or 1
        self._idf = {w: math.log(1 + n / len(ts)) for w, ts in index.items()}
        self._index = index


_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "from",
        "with",
        "by",
        "at",
        "is",
        "are",
        "be",
        "it",
        "this",
        "that",
        "every",
        "each",
        "new",
        "when",
        "then",
        "into",
        "as",
        "my",
        "our",
        "your",
        "me",
        "we",
        "i",
        "all",
        "any",
        "node",
        "nodes",
        "n8n",
    ]
)


def _words(text: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    out = []
    for w in re.findall(r"[a-z0-9]+", spaced.lower()):
        if w in _STOPWORDS or len(w) < 2:
            continue
        out.append(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def _whole_words(text: str) -> list[str]:
    """`text`'s words without splitting camelCase ("ClickUp" → "clickup")."""
    return _words(" ".join(w.lower() for w in re.findall(r"[A-Za-z0-9]+", text)))
