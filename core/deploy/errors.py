"""What a deploy can fail with: n8n refused it, validation refused it, or another deploy of the
same workflow holds the lock."""

from __future__ import annotations

from core.kernel.errors import ClixenError
from core.kernel.vocabulary import VersionSource
from core.validation import ValidationReport


class DeployFailed(ClixenError):
    """n8n refused or lost the deploy. `n8n_message` is n8n's own text (feed it to repair);
    `unanswered`: n8n did not answer in time or could not be reached (nothing to repair)."""

    code = "deploy_failed"

    def __init__(
        self,
        message: str,
        *,
        n8n_message: str,
        version: int | None,
        status: int | None = None,
        unanswered: bool = False,
    ) -> None:
        self.n8n_message = n8n_message
        self.version = version
        self.status = status
        self.unanswered = unanswered
        super().__init__(message)


class ValidationFailed(ClixenError):
    """The workflow has validation errors, so it was not deployed. `report` lists them."""

    code = "validation_failed"

    def __init__(self, report: ValidationReport, *, not_done: str = "deployed") -> None:
        self.report = report
        errors = report.errors
        # Each with its fix (the same as `clixen validate` prints), e.g. the allow-host to run.
        lines = [
            f"  - {(i.node + ': ') if i.node else ''}{i.message}"
            + (f"\n      fix: {i.hint}" if i.hint else "")
            for i in errors[:10]
        ]
        more = f"\n  … and {len(errors) - 10} more" if len(errors) > 10 else ""
        super().__init__(
            f"The workflow has {len(errors)} problem(s) and was not {not_done}:\n"
            + "\n".join(lines)
            + more
        )


class CredentialsMissing(ClixenError):
    """Nodes need credentials the project cannot give them (no secret of the type, or several
    and none named), so nothing was sent to n8n. `needs` is (node, accepted types) per node."""

    code = "credentials_missing"

    def __init__(self, message: str, *, needs: list[tuple[str, tuple[str, ...]]]) -> None:
        self.needs = needs
        super().__init__(message)


class DeployBusy(ClixenError):
    code = "deploy_busy"


class HeadMoved(ClixenError):
    """The workflow's head is no longer the version a candidate was built from (a rollback, an
    edit or a repair landed meanwhile): deploying it would silently undo that, so it was not.

    `expected` is the version the candidate was built from, `head` the version live now, with
    its `head_source` (`rollback`, `edit`, …) and, for a rollback, the version it brought back.
    """

    code = "head_moved"

    def __init__(
        self, *, expected: int, head: int, head_source: str, rolled_back_from: int | None
    ) -> None:
        self.expected = expected
        self.head = head
        self.head_source = head_source
        self.rolled_back_from = rolled_back_from
        super().__init__(
            f"{self.head_label} was deployed after v{expected}, which this change was built "
            f"from; it was not deployed over it."
        )

    @property
    def head_label(self) -> str:
        """The live version in words: "v5 (a rollback to v2)", "v5 (an edit)"."""
        try:
            source = VersionSource(self.head_source)
        except ValueError:
            return f"v{self.head}"
        what = {
            VersionSource.rollback: f"a rollback to v{self.rolled_back_from}",
            VersionSource.edit: "an edit",
            VersionSource.repair: "an automatic repair",
            VersionSource.generate: "a new workflow",
            VersionSource.imported: "a deploy of a given file",
        }[source]
        return f"v{self.head} ({what})"


class ReviewPending(ClixenError):
    """The project reviews versions before they go live: this one is stored (validated, bound)
    as `awaiting_review` and nothing was sent to n8n. `review_id` names the request an owner
    approves or rejects; `version` is the stored version's number."""

    code = "review_pending"

    def __init__(self, *, review_id: int, workflow_id: int, version: int, name: str) -> None:
        self.review_id = review_id
        self.workflow_id = workflow_id
        self.version = version
        self.name = name
        super().__init__(
            f"v{version} of {name!r} waits for a project owner's approval (review #{review_id}); "
            "nothing changed in n8n until then."
        )
