"""Every spec right for its exact version and operation (issue 19, item 6): over the most-used
node types in the templates × every (resource, operation) they offer, the spec's parameter
names are exactly those n8n's own node definitions (nodes.json of the installed n8n) display
for that version and operation, every key of its example is a spec parameter, and no `<id>`
sits in a field that is not an id. `benchmarks/spec_correctness.py` prints the counts."""

from __future__ import annotations

import pytest

from core.generation.templates import TemplateLibrary
from tests.core.spec_checks import check_specs, most_used_types

TOP_TYPES = 200


@pytest.fixture(scope="module")
def results(template_library: TemplateLibrary) -> dict[str, list[str]]:
    return check_specs(most_used_types(template_library, TOP_TYPES), template_library)


def test_the_check_covers_the_most_used_types_and_their_operations(
    results: dict[str, list[str]],
) -> None:
    assert len(results["checked_types"]) >= 150
    assert len(results["checked"]) >= 1_000


def test_parameter_names_are_what_n8n_displays(results: dict[str, list[str]]) -> None:
    assert results["wrong_parameters"] == []


def test_every_example_key_is_a_spec_parameter(results: dict[str, list[str]]) -> None:
    assert results["foreign_example_keys"] == []


def test_no_id_placeholder_outside_id_fields(results: dict[str, list[str]]) -> None:
    assert results["id_in_non_id_field"] == []
