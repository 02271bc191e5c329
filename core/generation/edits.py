"""An edit as operations on the current workflow, checked and applied by our code.

For a change request the model answers with a list of operations (`EditReply`) — add_node,
remove_node, update_parameters (a JSON merge on one node), rename_node (links and `$('Name')`
references follow), connect, disconnect, update_settings — never the whole workflow again.
`apply_operations` applies them to a copy: every node and link not named by an operation is kept
exactly, credentials included (the model never sees or writes a credential id; a node whose type
changes loses its credential, which must then be bound again, and so does a node that now calls
another host: the user is asked for it again). An operation on a node that does
not exist, a duplicate name or a credential reference with an id raises `EditRejected` with the
reason. `unrequested_removals` names the nodes a reply would remove that the user's words do not
mention: such a reply is refused.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from core.generation.replies import MAX_QUESTION_CHARS, MAX_SUMMARY_CHARS, Question
from core.kernel.safety import LLMOutputInvalid, parse_llm_json
from core.validation.guards import called_hosts

MAX_OPERATIONS = 40


class EditRejected(LLMOutputInvalid):
    """The operations cannot be applied to the workflow (`reason` says which and why)."""

    code = "edit_rejected"


class UnrequestedRemoval(EditRejected):
    """The operations remove nodes the user's request does not mention."""

    code = "unrequested_removal"

    def __init__(self, nodes: Sequence[str]) -> None:
        self.nodes = list(nodes)
        super().__init__(
            "the operations would remove "
            + ", ".join(self.nodes)
            + ", which the change request does not mention; a node the user did not ask to "
            "remove must stay (use remove_node only for nodes the request names)"
        )


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CredentialRef(_Op):
    """A project secret by name: `{"name": "SLACK_TOKEN"}` (an id is never accepted)."""

    name: str = Field(min_length=1, max_length=200)


class NewNode(_Op):
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    type_version: int | float | None = Field(default=None, alias="typeVersion")
    parameters: dict[str, Any] = Field(default_factory=dict)
    position: list[int | float] | None = None
    credentials: dict[str, CredentialRef] | None = None


class AddNode(_Op):
    op: Literal["add_node"]
    node: NewNode


class RemoveNode(_Op):
    op: Literal["remove_node"]
    node: str


class UpdateParameters(_Op):
    """A JSON merge patch (RFC 7386: null deletes a key) on one node's parameters; also its
    type or typeVersion when the change needs another node type or version."""

    op: Literal["update_parameters"]
    node: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    type: str | None = None
    type_version: int | float | None = Field(default=None, alias="typeVersion")
    credentials: dict[str, CredentialRef] | None = None


class RenameNode(_Op):
    op: Literal["rename_node"]
    node: str
    new_name: str = Field(min_length=1, max_length=200)


class Link(_Op):
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    output: int = Field(default=0, ge=0, le=50)
    input: int = Field(default=0, ge=0, le=50)
    type: str = "main"


class Connect(Link):
    op: Literal["connect"]


class Disconnect(Link):
    op: Literal["disconnect"]


class UpdateSettings(_Op):
    op: Literal["update_settings"]
    settings: dict[str, Any]


Operation = Annotated[
    AddNode | RemoveNode | UpdateParameters | RenameNode | Connect | Disconnect | UpdateSettings,
    Field(discriminator="op"),
]
_OPERATIONS: TypeAdapter[list[Operation]] = TypeAdapter(list[Operation])


@dataclass(frozen=True)
class EditResult:
    """The edited workflow; what each operation did, in words; the nodes removed; the nodes
    whose credential must be checked again (type or operation changed); and the nodes whose
    credential was unbound because they now call another host (`rebind`: the user chooses
    their credential again, it is never bound by itself)."""

    workflow: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    recheck: list[str] = field(default_factory=list)
    rebind: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EditReply:
    """What the model answered to a change request: the operations and a summary."""

    operations: list[Operation]
    summary: str


def parse_edit_reply(text: str) -> EditReply | Question:
    """The operations (or clarifying question) in the model's reply to a change request; raises
    LLMOutputInvalid for anything else, a whole workflow included."""
    data = parse_llm_json(text)
    question = data.get("question")
    if "operations" not in data and isinstance(question, str) and question.strip():
        return Question(question.strip()[:MAX_QUESTION_CHARS])
    if "operations" not in data:
        raise LLMOutputInvalid(
            'the reply has neither an "operations" list nor a "question" (an edit is a list '
            "of operations, never the whole workflow)"
        )
    summary = data.get("summary")
    return EditReply(
        operations=parse_operations(data["operations"]),
        summary=summary.strip()[:MAX_SUMMARY_CHARS] if isinstance(summary, str) else "",
    )


def parse_operations(raw: Any) -> list[Operation]:
    """The operations of a reply's `"operations"` list; raises LLMOutputInvalid naming the
    first bad one."""
    if not isinstance(raw, list) or not raw:
        raise LLMOutputInvalid('"operations" must be a non-empty list')
    if len(raw) > MAX_OPERATIONS:
        raise LLMOutputInvalid(f"at most {MAX_OPERATIONS} operations, got {len(raw)}")
    try:
        return _OPERATIONS.validate_python(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise LLMOutputInvalid(f"operation {where}: {first['msg']}") from e


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, null deletes, anything else
    replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# Parameters whose change means the node does something else (its credential is re-checked),
# and those that choose the credential type itself (its credential is dropped).
_AUTH_KEYS = ("authentication", "nodeCredentialType", "genericAuthType")
_OPERATION_KEYS = ("resource", "operation", *_AUTH_KEYS)


class _Editor:
    def __init__(self, workflow: Mapping[str, Any]) -> None:
        self.wf = copy.deepcopy(dict(workflow))
        nodes = self.wf.get("nodes")
        self.nodes: list[dict[str, Any]] = (
            [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []
        )
        self.wf["nodes"] = self.nodes
        conns = self.wf.get("connections")
        self.conns: dict[str, Any] = conns if isinstance(conns, dict) else {}
        self.wf["connections"] = self.conns
        self.changes: list[str] = []
        self.removed: list[str] = []
        self.recheck: list[str] = []
        self.rebind: list[str] = []
        # Hosts called by removed nodes that held a credential, by name.
        self.gone_hosts: dict[str, list[str | None]] = {}

    def node(self, name: str) -> dict[str, Any]:
        for n in self.nodes:
            if n.get("name") == name:
                return n
        known = ", ".join(str(n.get("name")) for n in self.nodes[:40])
        raise EditRejected(f"there is no node named {name!r} (nodes: {known})")

    def _free(self, name: str) -> None:
        if any(n.get("name") == name for n in self.nodes):
            raise EditRejected(f"a node named {name!r} already exists")

    def add(self, op: AddNode) -> None:
        self._free(op.node.name)
        new = op.node.model_dump(by_alias=True, exclude_none=True)
        new["id"] = str(uuid.uuid4())
        if "position" not in new:
            xs = [n["position"][0] for n in self.nodes if _is_position(n.get("position"))]
            new["position"] = [max(xs, default=0) + 220, 300]
        gone = self.gone_hosts.get(op.node.name)
        if gone is not None and new.get("credentials") and called_hosts(new) != gone:
            # Removed and added again under its name, now calling elsewhere: asked again too.
            new.pop("credentials")
            self.rebind.append(op.node.name)
        self.nodes.append(new)
        self.changes.append(f"+ node {op.node.name}")

    def remove(self, op: RemoveNode) -> None:
        gone = self.node(op.node)
        self.nodes.remove(gone)
        if gone.get("credentials"):
            self.gone_hosts[op.node] = called_hosts(gone)
        self.conns.pop(op.node, None)
        for outputs in self.conns.values():
            _drop_targets(outputs, lambda t: t.get("node") == op.node)
        self.removed.append(op.node)
        self.changes.append(f"− node {op.node}")

    def update(self, op: UpdateParameters) -> None:
        node = self.node(op.node)
        hosts = called_hosts(node)
        before = dict(node.get("parameters") or {})
        if op.parameters:
            node["parameters"] = merge_patch(before, op.parameters)
        if op.type_version is not None:
            node["typeVersion"] = op.type_version
        retyped = op.type is not None and op.type != node.get("type")
        if op.type is not None:
            node["type"] = op.type
        after = node.get("parameters") or {}
        if retyped or any(before.get(k) != after.get(k) for k in _AUTH_KEYS):
            # The credential bound for the old type or authentication does not fit: it is
            # dropped, so the deploy check asks for the right one instead of keeping a wrong one.
            node.pop("credentials", None)
        if op.credentials is not None:
            node["credentials"] = {ctype: ref.model_dump() for ctype, ref in op.credentials.items()}
        if node.get("credentials") and called_hosts(node) != hosts:
            # A credential goes where it was given for: a node that now calls another host
            # (or one built at run time) asks for its credential again.
            node.pop("credentials", None)
            self.rebind.append(op.node)
        if retyped or any(before.get(k) != after.get(k) for k in _OPERATION_KEYS):
            self.recheck.append(op.node)
        self.changes.append(f"~ node {op.node}")

    def rename(self, op: RenameNode) -> None:
        node = self.node(op.node)
        self._free(op.new_name)
        old, new = op.node, op.new_name
        node["name"] = new
        if old in self.conns:
            self.conns[new] = self.conns.pop(old)
        for outputs in self.conns.values():
            for target in _targets(outputs):
                if target.get("node") == old:
                    target["node"] = new
        for n in self.nodes:
            if "parameters" in n:
                n["parameters"] = _renamed_references(n["parameters"], old, new)
        self.changes.append(f"{old} renamed to {new}")

    def connect(self, op: Connect) -> None:
        self.node(op.source)
        self.node(op.target)
        slots = self.conns.setdefault(op.source, {}).setdefault(op.type, [])
        while len(slots) <= op.output:
            slots.append([])
        if slots[op.output] is None:
            slots[op.output] = []
        link = {"node": op.target, "type": op.type, "index": op.input}
        if link not in slots[op.output]:
            slots[op.output].append(link)
        self.changes.append(f"{op.source} → {op.target} connected")

    def disconnect(self, op: Disconnect) -> None:
        self.node(op.source)
        self.node(op.target)
        slots = (self.conns.get(op.source) or {}).get(op.type) or []
        group = slots[op.output] if op.output < len(slots) else None
        link = {"node": op.target, "type": op.type, "index": op.input}
        if not group or link not in group:
            raise EditRejected(f"{op.source} is not connected to {op.target} (output {op.output})")
        group.remove(link)
        self.changes.append(f"{op.source} → {op.target} disconnected")

    def settings(self, op: UpdateSettings) -> None:
        current = self.wf.get("settings")
        self.wf["settings"] = merge_patch(current if isinstance(current, dict) else {}, op.settings)
        self.changes.append("settings changed")


def _is_position(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], int | float)


def _targets(outputs: Any) -> Iterable[dict[str, Any]]:
    if not isinstance(outputs, Mapping):
        return
    for slots in outputs.values():
        for group in slots or []:
            for target in group or []:
                if isinstance(target, dict):
                    yield target


def _drop_targets(outputs: Any, gone: Callable[[dict[str, Any]], bool]) -> None:
    if not isinstance(outputs, Mapping):
        return
    for slots in outputs.values():
        for group in slots or []:
            if isinstance(group, list):
                group[:] = [t for t in group if not (isinstance(t, dict) and gone(t))]


def _renamed_references(value: Any, old: str, new: str) -> Any:
    """`value` with expression references to node `old` (`$('old')`, `$node["old"]`) renamed."""
    if isinstance(value, str):
        if not value.startswith("="):
            return value
        for quote in ("'", '"'):
            value = value.replace(f"$({quote}{old}{quote})", f"$({quote}{new}{quote})")
            value = value.replace(f"$node[{quote}{old}{quote}]", f"$node[{quote}{new}{quote}]")
        return value
    if isinstance(value, list):
        return [_renamed_references(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _renamed_references(v, old, new) for k, v in value.items()}
    return value


def apply_operations(workflow: Mapping[str, Any], operations: Sequence[Operation]) -> EditResult:
    """`workflow` with `operations` applied in order (the input is not modified); raises
    EditRejected for an operation that does not fit the workflow as it is at that point."""
    editor = _Editor(workflow)
    for op in operations:
        match op:
            case AddNode():
                editor.add(op)
            case RemoveNode():
                editor.remove(op)
            case UpdateParameters():
                editor.update(op)
            case RenameNode():
                editor.rename(op)
            case Connect():
                editor.connect(op)
            case Disconnect():
                editor.disconnect(op)
            case UpdateSettings():
                editor.settings(op)
    _prune_empty(editor.conns)
    return EditResult(
        workflow=editor.wf,
        changes=editor.changes,
        removed=editor.removed,
        recheck=sorted(set(editor.recheck) - set(editor.removed)),
        rebind=sorted(set(editor.rebind) & {str(n.get("name")) for n in editor.nodes}),
    )


def _prune_empty(conns: dict[str, Any]) -> None:
    """Drop trailing empty output slots and sources left with no link (n8n's own shape)."""
    for source in list(conns):
        outputs = conns[source]
        if not isinstance(outputs, dict):
            continue
        for kind in list(outputs):
            slots = outputs[kind]
            while isinstance(slots, list) and slots and not slots[-1]:
                slots.pop()
            if not slots:
                del outputs[kind]
        if not outputs:
            del conns[source]


def mentioned(term: str, text: str) -> bool:
    """Whether `term` appears in `text` as a whole word or phrase (any case)."""
    term = term.strip()
    return len(term) > 1 and re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.I) is not None


def unrequested_removals(
    *,
    operations: Sequence[Operation],
    workflow: Mapping[str, Any],
    request: str,
    display_name: Callable[[str], str | None] = lambda _type: None,
    keep: Iterable[str] | None = None,
) -> list[str]:
    """The nodes `operations` remove that the request does not mention: neither the node's
    name, nor its type's display name (`display_name(type)`) or short name ("set", "slack")
    appears in it. Only nodes in `keep` (default: all of `workflow`'s) are protected: a node
    the run itself added may go."""
    nodes = {
        n.get("name"): n
        for n in workflow.get("nodes") or []
        if isinstance(n, Mapping) and isinstance(n.get("name"), str)
    }
    protected = set(nodes) if keep is None else set(keep)
    out = []
    for op in operations:
        if not isinstance(op, RemoveNode) or op.node not in protected:
            continue
        node_type = str(nodes.get(op.node, {}).get("type") or "")
        terms = [op.node, node_type.rsplit(".", 1)[-1], display_name(node_type) or ""]
        if not any(mentioned(term, request) for term in terms):
            out.append(op.node)
    return out
