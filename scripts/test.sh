#!/usr/bin/env bash
# Run the checks and the whole test suite against the real Postgres (127.0.0.1:5432) and a real
# n8n. Reuses a running n8n when N8N_URL/N8N_API_KEY are set, else starts the local one (and stops
# it again at the end if this script started it).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"

scripts/bootstrap.sh

started_n8n=0
if [[ -z "${N8N_URL:-}" || -z "${N8N_API_KEY:-}" ]]; then
  if ! scripts/n8n_stack.sh status 2>/dev/null | grep -q '^running'; then
    started_n8n=1
  fi
  scripts/n8n_stack.sh start
fi
cleanup() {
  if [[ "${started_n8n}" == 1 ]]; then
    scripts/n8n_stack.sh stop || true
  fi
}
trap cleanup EXIT

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
