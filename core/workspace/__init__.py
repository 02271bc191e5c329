"""Who may do what, and how much: projects and roles, daily quotas, the node/host policy, HTTP
API tokens and per-project secrets."""
