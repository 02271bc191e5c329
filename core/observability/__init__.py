"""Whether this replica is ready to take work (`readiness`: database at head, n8n's API with the
configured key, the n8n-mcp command). The metrics it exports live in `core.kernel.metrics` and
the fields bound to every log line in `core.kernel.log_context`: every layer writes those.
"""
