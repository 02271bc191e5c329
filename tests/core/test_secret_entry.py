"""A secret's fields checked against a credential type's schema (n8n's shape of it), before
anything is stored: what is refused, what is stored."""

from __future__ import annotations

import json

import pytest

from core.catalog.credential_needs import secret_command
from core.credentials.entry import (
    SeveralFields,
    compose_value,
    entered_value,
    form_from_schema,
    parse_field_arguments,
    refuse_secret_arguments,
    secret_form,
)
from core.kernel.errors import InvalidInput
from core.n8n import N8nClient
from core.validation import validate

HEADER = form_from_schema(
    "httpHeaderAuth",
    {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "value": {"type": "string"},
            "allowedHttpRequestDomains": {"type": "string", "enum": ["all", "domains", "none"]},
            "allowedDomains": {"type": "string"},
        },
        "required": [],
    },
)
SLACK = form_from_schema(
    "slackApi",
    {"properties": {"accessToken": {"type": "string"}, "notice": {"type": "notice"}},
     "required": ["accessToken"]},
)  # fmt: skip
POSTGRES = form_from_schema(
    "postgres",
    {"properties": {"host": {"type": "string"}, "port": {"type": "number"},
                    "ssl": {"type": "string", "enum": ["disable", "allow", "require"]},
                    "password": {"type": "string"}},
     "required": ["host"]},
)  # fmt: skip


def test_a_plain_value_for_a_type_with_several_fields_is_refused_naming_them() -> None:
    with pytest.raises(SeveralFields, match=r"fields name, value.*JSON object") as refused:
        compose_value(HEADER, {}, "hdrval", secret="API_AUTH")
    assert refused.value.plain == ["name"] and refused.value.secret_left == ["value"]


def test_the_field_left_takes_the_plain_value() -> None:
    value = compose_value(HEADER, {"name": "X-API-Key"}, "k-123\n", secret="API_AUTH")
    assert json.loads(value) == {"name": "X-API-Key", "value": "k-123"}
    # A one-field type keeps its value as typed.
    assert compose_value(SLACK, {}, "xoxb-1", secret="SLACK_API") == "xoxb-1"


def test_unknown_missing_and_out_of_range_fields_are_refused() -> None:
    with pytest.raises(InvalidInput, match=r"no field 'header'.*name, value"):
        compose_value(HEADER, {"header": "X"}, None, secret="API_AUTH")
    with pytest.raises(InvalidInput, match="needs host"):
        compose_value(POSTGRES, {}, '{"password": "p"}', secret="DB")
    with pytest.raises(InvalidInput, match="one of disable, allow, require"):
        compose_value(POSTGRES, {"host": "db.example.com", "ssl": "maybe"}, None, secret="DB")
    with pytest.raises(InvalidInput, match="set by Clixen from --allowed-host"):
        compose_value(HEADER, {"name": "a", "allowedDomains": "x"}, None, secret="API_AUTH")
    typed = compose_value(POSTGRES, {"host": "db.example.com", "port": "5432"}, None, secret="DB")
    assert json.loads(typed) == {"host": "db.example.com", "port": 5432}


def test_secret_fields_never_come_from_the_command_line() -> None:
    given = parse_field_arguments(["name=X-API-Key", "value=k"])
    with pytest.raises(InvalidInput, match="never on the command line"):
        refuse_secret_arguments(HEADER, given, secret="API_AUTH")
    refuse_secret_arguments(HEADER, {"name": "X-API-Key"}, secret="API_AUTH")
    with pytest.raises(InvalidInput, match="NAME=VALUE"):
        parse_field_arguments(["nameonly"])
    assert [f.name for f in HEADER.to_ask({"name": "X"})] == ["value"]


def test_hints_for_a_generic_type_name_the_host_the_node_calls() -> None:
    assert secret_command("slackApi") == "clixen secret set SLACK_API --type slackApi"
    assert secret_command("httpHeaderAuth", host="api.example.com") == (
        "clixen secret set HTTP_HEADER_AUTH --type httpHeaderAuth --allowed-host api.example.com"
    )
    wf = {
        "name": "w",
        "nodes": [
            {"name": "Go", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
             "position": [0, 0], "parameters": {}},
            {"name": "Fetch", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
             "position": [200, 0], "parameters": {"url": "https://data.example.org/v1",
             "authentication": "genericCredentialType", "genericAuthType": "httpHeaderAuth"}},
        ],
        "connections": {"Go": {"main": [[{"node": "Fetch", "type": "main", "index": 0}]]}},
    }  # fmt: skip
    [issue] = [i for i in validate(wf).issues if i.code == "missing_credentials"]
    assert "--allowed-host data.example.org`" in issue.message


def test_n8n_schemas_of_real_types(n8n_client: N8nClient) -> None:
    """The check uses n8n's own schema (what the Slack form's one value box goes through)."""
    with pytest.raises(SeveralFields) as refused:
        entered_value(n8n_client, "httpHeaderAuth", "hdrval", secret="API_AUTH")
    assert refused.value.missing == ["name", "value"] and refused.value.plain == ["name"]
    both = entered_value(
        n8n_client, "httpHeaderAuth", '{"name": "X-Key", "value": "v"}', secret="API_AUTH"
    )
    assert json.loads(both) == {"name": "X-Key", "value": "v"}
    assert entered_value(n8n_client, "slackApi", "xoxb-1", secret="SLACK_API") == "xoxb-1"
    with pytest.raises(InvalidInput, match="no credential type 'noSuchApi'"):
        secret_form(n8n_client, "noSuchApi")
