"""Code that benchmarks run inside another tree (`--compare-rev`): `LAYOUT_SHIM`, prepended to
such a script, lets today's module names (`core.generation.specs`, `cli`, …) import a tree from
before the package layout of issue 18, whose modules sat flat in `core/`."""

from __future__ import annotations

# Today's name -> the name the flat layout gave the same module.
FLAT_NAMES = {
    "core.kernel.settings": "core.settings",
    "core.kernel.db": "core.db",
    "core.kernel.models": "core.models",
    "core.generation.llm": "core.llm",
    "core.generation.specs": "core.specs",
    "core.generation.templates": "core.templates",
    "core.generation.retrieval": "core.retrieval",
    "core.generation.replies": "core.generation",
    "core.generation.prompts": "core.prompts",
    "core.generation.node_hints": "core.node_hints",
    "core.generation.guides": "core.guides",
    "cli": "core.cli",
}

LAYOUT_SHIM = f"""
import importlib as _il, sys as _sys
try:  # only the flat layout has core/settings.py
    _il.import_module("core.settings")
except ImportError:
    pass
else:  # a tree from before the package layout: today's names, its modules
    for _new, _old in {FLAT_NAMES!r}.items():
        try:
            _sys.modules[_new] = _il.import_module(_old)
        except ImportError:
            pass
"""
