"""The repair budget: 2 validation repairs, 3 in all (the design's caps), without a service."""

from __future__ import annotations

from core.pipeline.budget import RepairBudget
from core.pipeline.types import ProblemKind


def test_a_fresh_run_may_repair_anything() -> None:
    budget = RepairBudget()
    assert not budget.exhausted(ProblemKind.validation)
    assert not budget.exhausted(ProblemKind.runtime)
    assert budget.next_label == "repair 1 of 3"


def test_two_validation_repairs_stop_a_third_but_not_a_runtime_repair() -> None:
    budget = RepairBudget().spend(ProblemKind.validation).spend(ProblemKind.parse)
    assert (budget.total, budget.validation) == (2, 2)
    assert budget.exhausted(ProblemKind.validation)
    assert budget.exhausted(ProblemKind.parse)
    assert not budget.exhausted(ProblemKind.runtime)
    assert budget.cap_reached(ProblemKind.validation) == "2 repairs of validation errors"


def test_runtime_repairs_count_only_in_all() -> None:
    budget = RepairBudget().spend(ProblemKind.runtime).spend(ProblemKind.runtime)
    assert (budget.total, budget.validation) == (2, 0)
    assert not budget.exhausted(ProblemKind.validation)
    third = budget.spend(ProblemKind.validation)
    assert third.exhausted(ProblemKind.runtime)
    assert third.exhausted(ProblemKind.validation)
    assert third.cap_reached(ProblemKind.validation) == "3 repairs in all"


def test_spend_never_changes_the_budget_it_was_called_on() -> None:
    budget = RepairBudget(1, 1)
    budget.spend(ProblemKind.validation)
    assert budget == RepairBudget(1, 1)
