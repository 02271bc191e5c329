"""What the model can look up about nodes while it builds a workflow (issue 19): every
(resource, operation) a node type offers, the broad shortlist of candidate types for a request,
the value shapes n8n's special parameter types take, n8n's own builder hints, and the two tools a
model may call during generation (`search_nodes`, `get_node_spec`).
"""

from core.generation.node_lookup.operations import operation_pairs, operations_by_resource

__all__ = ["operation_pairs", "operations_by_resource"]
