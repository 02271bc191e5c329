"""The catalog of n8n node types the installed n8n knows: versions, required parameters, outputs.

Built from n8n's own `dist/types/nodes.json` files (n8n-nodes-base and the LangChain package) and
shipped as a compact snapshot (`core/data/node_catalog.json.gz`), so validation works without n8n
installed. `clixen catalog refresh` regenerates the snapshot from an installed n8n.

By job: `model` (what is known of one node type), `index` (`NodeCatalog`: lookup, closest type,
search), `snapshot` (build, refresh and load the shipped file; `default_catalog()`),
`display_options` (which parameters and credential slots apply under a node's values),
`credential_needs` (what a node needs: the credential types it accepts),
`slack_trigger` (Clixen's own `clixen.slackTrigger` node, which the catalog also holds; what
it means is `core.kernel.slack_trigger`). Loading is
cheap, because `clixen validate` loads the catalog to check one file: the snapshot keeps each
type's version classes as JSON text, and a type's `NodeSpec` is built when first looked up.
"""

from core.catalog.index import NodeCatalog
from core.catalog.node_spec import (
    BASE_PREFIX,
    CHECKED_REQUIRED_TYPES,
    KNOWN_PREFIXES,
    LANGCHAIN_PREFIX,
    MANUAL_TRIGGERS,
    SNAPSHOT_FORMAT,
    SNAPSHOT_PATH,
    CredentialSlot,
    NodeSpec,
    ParamSpec,
    VersionClass,
)
from core.catalog.snapshot import (
    build_snapshot,
    catalog_from_snapshot,
    default_catalog,
    find_nodes_json,
    load_catalog,
    refresh_snapshot,
)
from core.kernel.slack_trigger import (
    N8N_SLACK_TRIGGER,
    PAYLOAD_FIELDS,
    SLACK_TRIGGER_TYPE,
    TriggerEvent,
    TriggerInput,
    TriggerParams,
    describe_trigger,
    parse_trigger_params,
)

__all__ = [
    "BASE_PREFIX",
    "CHECKED_REQUIRED_TYPES",
    "KNOWN_PREFIXES",
    "LANGCHAIN_PREFIX",
    "MANUAL_TRIGGERS",
    "N8N_SLACK_TRIGGER",
    "PAYLOAD_FIELDS",
    "SLACK_TRIGGER_TYPE",
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_PATH",
    "CredentialSlot",
    "NodeCatalog",
    "NodeSpec",
    "ParamSpec",
    "TriggerEvent",
    "TriggerInput",
    "TriggerParams",
    "VersionClass",
    "build_snapshot",
    "catalog_from_snapshot",
    "default_catalog",
    "describe_trigger",
    "find_nodes_json",
    "load_catalog",
    "parse_trigger_params",
    "refresh_snapshot",
]
