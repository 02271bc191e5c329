#!/usr/bin/env bash
# Run the checks (ruff, ruff format --check, mypy) and the tests.
#
#   scripts/test.sh                 every tier against the real Postgres (127.0.0.1:5432) and a real
#                                   n8n (what CI runs)
#   scripts/test.sh --fast          only the tests that need no service (pytest -m fast): starts
#                                   nothing and needs neither Postgres nor n8n
#   scripts/test.sh --integration   only the tests that reach Postgres/n8n/n8n-mcp (-m integration)
#
# Other arguments go to pytest. The full and integration runs reuse a running n8n when
# N8N_URL/N8N_API_KEY are set, else start the local one (and stop it again at the end if this
# script started it). The tiers: tests/tiers.py.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"

tier=""
case "${1:-}" in
  --fast) tier=fast; shift ;;
  --integration) tier=integration; shift ;;
esac

scripts/bootstrap.sh

started_n8n=0
cleanup() {
  if [[ "${started_n8n}" == 1 ]]; then
    scripts/n8n_stack.sh stop || true
  fi
}
if [[ "${tier}" != fast && ( -z "${N8N_URL:-}" || -z "${N8N_API_KEY:-}" ) ]]; then
  if ! scripts/n8n_stack.sh status 2>/dev/null | grep -q '^running'; then
    started_n8n=1
  fi
  trap cleanup EXIT
  scripts/n8n_stack.sh start
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
if [[ -n "${tier}" ]]; then
  .venv/bin/python -m pytest -m "${tier}" "$@"
else
  .venv/bin/python -m pytest "$@"
fi
