#!/usr/bin/env bash
# Run the product locally: Python env, a local n8n (+ n8n-mcp), the database migrations, and
# `clixen serve` (Slack endpoint, HTTP API, scheduler). Defaults: embedded SQLite database and the
# local n8n; set DATABASE_URL, SLACK_* and OPENAI_* (see .env.example) to go further.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"

scripts/bootstrap.sh
scripts/n8n_stack.sh start
.venv/bin/clixen db upgrade
exec .venv/bin/clixen serve "$@"
