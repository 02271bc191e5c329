"""Doubles at the network edge we cannot reach: the LLM server, Slack's Web API, an HTTP sink."""

# How often a double's server loop checks whether it was shut down (the standard library's 0.5 s
# made every fixture teardown wait up to half a second).
SHUTDOWN_POLL_S = 0.05
