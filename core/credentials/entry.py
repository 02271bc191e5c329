"""A secret's value entered in one go: the fields of its n8n credential type, checked against
n8n's own schema of that type (`GET /credentials/schema/{type}`) when the secret is set, so a
value that can never work (one bare string for a type with several fields, a field the type does
not have, a missing required field) is refused then, never at deploy.

A front end asks for what `SecretForm.to_ask` lists (field by field, hidden for secret fields),
takes the non-secret ones from the command line (`--field name=value`) and passes the rest as one
JSON object or, for the one field left, as a plain value; `compose_value` returns what is
stored. The value itself is never put on a command line: `refuse_secret_arguments`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from core.catalog.credential_domains import RESTRICTION_FIELDS
from core.kernel.errors import InvalidInput
from core.n8n.errors import N8nAPIError

_SECRETISH: Final = re.compile(r"(?i)token|key|secret|password|pass$|^value$|credentials")
_PLAIN_FIELD: Final = re.compile(r"(?i)token|key|secret|password")


class SchemaSource(Protocol):
    def credential_schema(self, credential_type: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class FormField:
    """One field of a credential type, as n8n's schema gives it."""

    name: str
    kind: str  # string | number | boolean
    required: bool
    secret: bool
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class SecretForm:
    """The fields of a credential type (none: no type, or no n8n to ask)."""

    credential_type: str | None
    fields: tuple[FormField, ...] = ()
    # The field a single plain value fills (n8n's only required string, else its only
    # token/key/secret/password field), when the type has one.
    plain_field: str | None = None

    @property
    def checked(self) -> bool:
        return bool(self.fields)

    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def to_ask(self, given: Mapping[str, Any]) -> list[FormField]:
        """The fields still to ask for, required ones first (all of them when the type marks
        none required: n8n then leaves it to each field)."""
        left = [f for f in self.fields if f.name not in given]
        if any(f.required for f in self.fields):
            return [f for f in left if f.required] + [f for f in left if not f.required]
        return left


def secret_form(n8n: SchemaSource | None, credential_type: str | None) -> SecretForm:
    """The form of `credential_type` from n8n's schema; an empty form without a type or n8n.
    A type n8n does not know is InvalidInput."""

    if not credential_type or n8n is None:
        return SecretForm(credential_type)
    try:
        schema = n8n.credential_schema(credential_type)
    except N8nAPIError as e:
        if e.status in (400, 404):
            raise InvalidInput(
                f"n8n has no credential type {credential_type!r}: use the type its node names "
                "(e.g. slackApi, httpHeaderAuth; `clixen validate` lists what a node needs)."
            ) from e
        raise
    return form_from_schema(credential_type, schema)


def form_from_schema(credential_type: str, schema: Mapping[str, Any]) -> SecretForm:
    required = set(schema.get("required") or [])
    fields = []
    for name, prop in (schema.get("properties") or {}).items():
        if name in RESTRICTION_FIELDS or not isinstance(prop, dict):
            continue
        kind = prop.get("type")
        if kind not in ("string", "number", "boolean"):
            continue
        fields.append(
            FormField(
                name=name,
                kind=str(kind),
                required=name in required,
                secret=bool(_SECRETISH.search(name)),
                options=tuple(str(o) for o in prop.get("enum") or ()),
            )
        )
    strings = [f.name for f in fields if f.kind == "string"]
    req_strings = [n for n in strings if n in required]
    plain = None
    if len(req_strings) == 1:
        plain = req_strings[0]
    elif not req_strings:
        secretish = [n for n in strings if _PLAIN_FIELD.search(n)]
        plain = secretish[0] if len(secretish) == 1 else None
    return SecretForm(credential_type, tuple(fields), plain)


def parse_field_arguments(pairs: list[str] | None) -> dict[str, str]:
    """`--field name=value` arguments as a dict (InvalidInput for one without `=`)."""
    given: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(
                f"--field takes NAME=VALUE, e.g. --field name=X-API-Key; got {pair!r}."
            )
        given[name.strip()] = value
    return given


def refuse_secret_arguments(form: SecretForm, given: Mapping[str, str], *, secret: str) -> None:
    """A secret field's value may not come from the command line (shell history, process
    list): InvalidInput saying how to give it instead."""
    by_name = {f.name: f for f in form.fields}
    named = [n for n in given if (by_name[n].secret if n in by_name else _SECRETISH.search(n))]
    if named:
        raise InvalidInput(
            f"{', '.join(named)} of {secret} is secret: leave --field {named[0]}=… out and "
            "type it when asked (hidden), or pipe it on stdin — never on the command line."
        )


def compose_value(
    form: SecretForm, given: Mapping[str, Any], rest: str | None, *, secret: str
) -> str:
    """The value to store for secret `secret`: the fields `given` plus `rest` (a JSON object of
    more fields, or the plain value of the one field left), checked against the form.

    InvalidInput names what is wrong and the command that gives it: a field the type does not
    have, a required one missing, a value outside a field's options, a plain value for a type
    with several fields."""
    fields = dict(given)
    rest = (rest or "").strip()
    plain: str | None = None
    if rest.startswith("{"):
        try:
            more = json.loads(rest)
        except json.JSONDecodeError as e:
            raise InvalidInput(f"The value of {secret} starts with {{ but is not JSON: {e}") from e
        if not isinstance(more, dict):
            raise InvalidInput(f"The value of {secret} must be a JSON object of fields.")
        fields.update(more)
    elif rest:
        plain = rest
    known = set(form.names()) | set(RESTRICTION_FIELDS)
    if form.checked and any(n not in known for n in fields):
        _check_fields(form, fields, secret)  # names the fields the type has
    if not form.checked:
        if plain is not None and fields:
            raise InvalidInput(
                f"Give the rest of {secret}'s fields as a JSON object on stdin (without --type "
                "and n8n, Clixen cannot tell which field a plain value fills)."
            )
        return plain if plain is not None else json.dumps(fields)
    if plain is not None:
        left = form.to_ask(fields)
        target = (
            left[0].name
            if len(left) == 1
            else form.plain_field
            if not fields and form.plain_field
            else None
        )
        if target is None:
            raise SeveralFields(form, fields, secret)
        fields[target] = plain
    _check_fields(form, fields, secret)
    if set(fields) == {form.plain_field} and not given and plain is not None:
        return plain  # a one-field type: stored as it is typed
    return json.dumps(_typed(form, fields))


class SeveralFields(InvalidInput):
    """One plain value was given for a credential type that needs several fields. `missing`:
    the fields still to give; `plain`: those of them that are not secret (a front end may take
    them as arguments and the one secret left alone)."""

    def __init__(self, form: SecretForm, fields: Mapping[str, Any], secret: str) -> None:
        self.missing = [f.name for f in form.to_ask(fields)]
        self.plain = [f.name for f in form.fields if not f.secret and f.name in self.missing]
        self.secret_left = [f.name for f in form.fields if f.secret and f.name in self.missing]
        self.example = json.dumps({n: "…" for n in self.missing}, ensure_ascii=False)
        self.summary = (
            f"The {form.credential_type} credential type has the fields "
            f"{', '.join(form.names())}: one plain value cannot fill {', '.join(self.missing)} "
            f"of {secret}."
        )
        super().__init__(f"{self.summary} Give them as one JSON object, e.g. {self.example}.")


def _check_fields(form: SecretForm, fields: Mapping[str, Any], secret: str) -> None:
    by_name = {f.name: f for f in form.fields}
    restriction = sorted(set(fields) & set(RESTRICTION_FIELDS))
    if restriction:
        raise InvalidInput(
            f"{', '.join(restriction)} are set by Clixen from --allowed-host: leave them out."
        )
    unknown = [n for n in fields if n not in by_name]
    if unknown:
        raise InvalidInput(
            f"The {form.credential_type} credential type has no field "
            f"{', '.join(map(repr, unknown))}; its fields are {', '.join(form.names())}."
        )
    missing = [f.name for f in form.fields if f.required and not str(fields.get(f.name, ""))]
    if missing:
        raise InvalidInput(
            f"{secret} needs {', '.join(missing)} (required by n8n's {form.credential_type}): "
            "give it too."
        )
    for name, value in fields.items():
        field = by_name[name]
        if field.options and str(value) not in field.options:
            raise InvalidInput(
                f"{name} of the {form.credential_type} credential type is one of "
                f"{', '.join(field.options)}; got {str(value)[:40]!r}."
            )
    if not any(str(v) for v in fields.values()):
        raise InvalidInput(f"The value of {secret} is empty.")


def _typed(form: SecretForm, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Numbers and booleans typed as text (`--field port=5432`) as n8n's schema wants them."""
    kinds = {f.name: f.kind for f in form.fields}
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, str) and kinds.get(name) == "number":
            try:
                out[name] = int(value) if re.fullmatch(r"-?\d+", value) else float(value)
            except ValueError:
                raise InvalidInput(f"{name} is a number; got {value[:40]!r}.") from None
        elif isinstance(value, str) and kinds.get(name) == "boolean":
            if value.lower() not in ("true", "false"):
                raise InvalidInput(f"{name} is true or false; got {value[:40]!r}.")
            out[name] = value.lower() == "true"
        else:
            out[name] = value
    return out


def entered_value(
    n8n: SchemaSource | None, credential_type: str | None, raw: str, *, secret: str
) -> str:
    """A value typed in one box (a form's value field): checked against n8n's schema of
    `credential_type` (one value for a one-field type, else a JSON object of its fields);
    returned as it is stored. Without a type or n8n, `raw` as it is."""
    if not credential_type or n8n is None:
        return raw
    return compose_value(secret_form(n8n, credential_type), {}, raw, secret=secret)
