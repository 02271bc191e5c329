"""What whoever runs Clixen watches: Prometheus metrics (`metrics`), readiness (`readiness`:
database at head, n8n's API with the configured key, the n8n-mcp command) and the fields bound
to every log line of a run or a Slack request (`log_context`).

The package root imports nothing, so `core.logging` can use `log_context` without loading
prometheus_client; import the submodules directly.
"""
