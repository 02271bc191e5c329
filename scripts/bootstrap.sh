#!/usr/bin/env bash
# Create .venv and install the product with its pinned dependencies (requirements.lock).
# Idempotent: a second run with an unchanged lock file does nothing.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REPO_ROOT}/.venv"
LOCK="${REPO_ROOT}/requirements.lock"
STAMP="${VENV}/.clixen-lock"
PYTHON="${PYTHON:-python3}"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

"${PYTHON}" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { log "Python >= 3.11 is required (found $(${PYTHON} --version 2>&1))"; exit 1; }

# Graphviz `dot` lays out the workflow pictures (a Debian package, not a Python one). Installed when
# missing and we can (root with apt-get); without it the product draws a simpler layout and says so.
if ! command -v dot >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing graphviz (layout of workflow pictures)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq graphviz >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq graphviz >/dev/null 2>&1; } \
      || log "could not install graphviz: workflow pictures use the simple layout"
  else
    log "graphviz is missing: workflow pictures use the simple layout (install: sudo apt-get install graphviz)"
  fi
fi

want="$(cat "${LOCK}" "${REPO_ROOT}/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [[ -x "${VENV}/bin/clixen" && -f "${STAMP}" && "$(cat "${STAMP}")" == "${want}" ]]; then
  exit 0
fi
if [[ ! -x "${VENV}/bin/python" ]]; then
  log "creating ${VENV}"
  "${PYTHON}" -m venv "${VENV}"
fi
log "installing pinned dependencies"
"${VENV}/bin/python" -m pip install -q --disable-pip-version-check -r "${LOCK}"
"${VENV}/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "${REPO_ROOT}"
echo "${want}" > "${STAMP}"
log "ready: ${VENV}/bin/clixen"
