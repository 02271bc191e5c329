"""Clixen core: the domain and the pipeline. Never imports Slack."""
