#!/usr/bin/env bash
# End-to-end benchmark of a real `scopegate up` over loopback (docs/BENCHMARKS.md).
#
#   scripts/bench.sh                 # measure, print, and append the results to docs/BENCHMARKS.md
#   BENCH_DURATION=20 scripts/bench.sh
#
# Builds in release mode, starts `scopegate up` (durable audit: every record fdatasync'd before
# its answer) on ports of its own in a temporary directory, and drives it with wrk (installed
# with apt-get when missing). Each scenario gets a warm-up, then a measured run of a fixed
# duration:
#
#   baseline         GET /healthz of the actions API: the ceiling of HTTP handling here
#   exchange         RFC 8693 user token -> MCP token (chainlit-app), a pool of user tokens
#   obo exchange     MCP token -> actions API token (mcp-server), a pool of MCP tokens
#   decision warm    GET /actions/workday.hcm/get_employee, 16 exchanged tokens repeated
#   decision cold    the same, each exchanged token used once
#   mcp tools/call   the whole chain: MCP server -> IdP introspection -> actions API
#   half-peak        baseline and warm decision at half the warm decision's peak rate
#   client creds     scopegate's client_credentials grant, and the peer's password grant
#   overload         8 x max_in_flight connections at the actions API, then recovery
#
# Environment: BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 2),
# BENCH_CONNECTIONS (default 64), BENCH_THREADS (wrk threads, default 1), BENCH_PORT (first of
# four ports, default 19100), BENCH_APPEND (0: do not touch docs/BENCHMARKS.md), BENCH_PEER
# (0: skip the npm peer), BENCH_AUDIT_DIR (a directory for the audit log, e.g. /dev/shm),
# BENCH_PIN (the CPUs wrk is confined to, as taskset takes them; default the last CPU on a
# machine with two or more; "off" leaves wrk wherever the kernel puts it).
# Exits non-zero when a request fails or a scenario cannot run; the targets of
# docs/BENCHMARKS.md are reported, not enforced.
set -euo pipefail
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

root=$(cd "$(dirname "$0")/.." && pwd)
duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-2}
# An audited answer waits for its record's fdatasync, so a connection spends most of a decision
# waiting on the disk rather than the CPU. With a closed loop of 32 connections that wait,
# not the server, set the rate: the CPUs stayed 14-31 % idle. 64 keep them busy; more add
# latency and no throughput (docs/BENCHMARKS.md, "Why 64 connections").
connections=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-1}
# On a small machine the kernel tends to stack the load generator on the CPU where the server's
# workers already run while another sits partly idle, and where it puts them changes from run
# to run (docs/BENCHMARKS.md). Confining wrk to one CPU makes runs repeatable; the server is
# never confined.
pin=()
pin_cpus=off
[ "$(nproc)" -ge 2 ] && pin_cpus=$(($(nproc) - 1))
pin_cpus=${BENCH_PIN:-$pin_cpus}
if [ "$pin_cpus" != off ]; then
  command -v taskset >/dev/null 2>&1 \
    || { echo "bench.sh: needs taskset to pin wrk (util-linux), or BENCH_PIN=off" >&2; exit 1; }
  pin=(taskset -c "$pin_cpus")
fi
pin_note=""
[ "$pin_cpus" = off ] || pin_note=" confined to CPU $pin_cpus"
port=${BENCH_PORT:-19100}
lua="$root/scripts/bench/load.lua"
idp="http://127.0.0.1:$port"
api="http://127.0.0.1:$((port + 1))"
mcp="http://127.0.0.1:$((port + 2))/mcp"
peer_port=$((port + 3))
# The API's in-flight limit for the whole run: above the scenarios' connections, so that only the
# overload step, at eight times the limit, is shed.
overload_limit=128
overload_connections=$((overload_limit * 8))

step() { printf '\n==> %s\n' "$*" >&2; }
die() { echo "bench.sh: $*" >&2; exit 1; }

for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || die "needs $tool (apt-get install $tool)"
done
if ! command -v wrk >/dev/null 2>&1; then
  step "installing wrk"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y wrk >/dev/null 2>&1 \
    || { $sudo apt-get update >/dev/null && $sudo apt-get install -y wrk >/dev/null; } \
    || die "cannot install wrk: install it with your package manager"
fi

step "building scopegate (release)"
(cd "$root" && cargo build --release --locked -p scopegate >&2)
bin="${CARGO_TARGET_DIR:-$root/target}/release/scopegate"

work=$(mktemp -d)
# BENCH_AUDIT_DIR puts the audit log on another file system (say /dev/shm, to see what the
# disk's sync costs); by default it is beside the rest, on the disk.
audit_dir="$work/logs"
if [ -n "${BENCH_AUDIT_DIR:-}" ]; then
  audit_dir=$(mktemp -d --tmpdir="$BENCH_AUDIT_DIR")
fi
audit_log="$audit_dir/audit.jsonl"
up_pid=""
peer_pid=""
cleanup() {
  [ -n "$up_pid" ] && kill "$up_pid" 2>/dev/null && wait "$up_pid" 2>/dev/null
  [ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null
  rm -rf "$work"
  [ "$audit_dir" = "$work/logs" ] || rm -rf "$audit_dir"
}
trap cleanup EXIT

# The token endpoint's budgets are lifted: this measures the signer, not the rate limiter.
cat >"$work/scopegate.toml" <<EOF
[server]
data_dir = "data"
[idp]
port = $port
[api]
port = $((port + 1))
[mcp]
port = $((port + 2))
[audit]
path = "$audit_log"
[limits.api]
max_in_flight = $overload_limit
[limits.token_endpoint]
per_second = 1000000
burst = 1000000
[limits.password_grant]
per_second = 1000000
burst = 1000000
EOF

step "starting scopegate up in $work"
(cd "$work" && RUST_LOG=warn exec "$bin" --config scopegate.toml up >"$work/up.log" 2>&1) &
up_pid=$!
for _ in $(seq 1 100); do
  if curl -sf "$idp/readyz" >/dev/null && curl -sf "$api/readyz" >/dev/null \
    && curl -sf "${mcp%/mcp}/readyz" >/dev/null; then break; fi
  kill -0 "$up_pid" 2>/dev/null || { cat "$work/up.log" >&2; die "scopegate up exited"; }
  sleep 0.1
done
curl -sf "$api/readyz" >/dev/null || die "scopegate up did not become ready"

status_kib() { awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"; }
memory_kib() { status_kib "$up_pid" "$1"; }
# Each run resets the high-water mark of the process it measures (writing 5 to clear_refs), so
# its peak RSS is its own; scopegate's marks before each reset are kept here for the whole run.
peaks="$work/peaks"
: >"$peaks"
# CPU time (user + system) the server under test has used, in microseconds.
cpu_pid=""
cpu_us() {
  awk -v tick="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) * 1000000 / tick }' "/proc/$1/stat"
}

# run NAME SECONDS URL [ENV...]: one wrk run; prints its BENCH json, fails on any error.
run() {
  local name=$1 seconds=$2 url=$3 conns=$connections
  shift 3
  if [ "${1:-}" = "--connections" ]; then conns=$2; shift 2; fi
  local out pid=${cpu_pid:-$up_pid} before after peak
  memory_kib VmHWM >>"$peaks"
  { echo 5 >"/proc/$pid/clear_refs"; } 2>/dev/null || true
  before=$(cpu_us "$pid")
  out=$(env BENCH_THREADS="$threads" "$@" \
    "${pin[@]}" wrk -t"$threads" -c"$conns" -d"${seconds}s" --timeout 10s -s "$lua" "$url" 2>&1) \
    || { echo "$out" >&2; die "$name: wrk failed"; }
  after=$(cpu_us "$pid")
  peak=$(status_kib "$pid" VmHWM)
  local json
  json=$(printf '%s\n' "$out" | sed -n 's/^BENCH //p')
  [ -n "$json" ] || { echo "$out" >&2; die "$name: no result from wrk"; }
  # The server's CPU time per answered request: what a scenario costs, whatever the rate.
  jq -c --argjson cpu $((after - before)) --argjson peak "$peak" \
    '. + {cpu_us_per_request: (if .requests > 0 then $cpu / .requests | round else 0 end),
          peak_rss_kib: $peak}' <<<"$json"
}

# measure NAME URL [ENV...]: warm-up, then the measured run, checked for errors.
declare -A result
measure() {
  local name=$1 url=$2
  shift 2
  run "$name (warm-up)" "$warmup" "$url" "$@" >/dev/null
  local json
  json=$(run "$name" "$duration" "$url" "$@")
  check "$name" "$json"
  result[$name]=$json
  printf '  %-16s %8.0f req/s  p50 %6d us  p99 %6d us  cpu %4d us/req  peak %3d MiB\n' \
    "$name" "$(jq .rps <<<"$json")" "$(jq .p50_us <<<"$json")" "$(jq .p99_us <<<"$json")" \
    "$(jq .cpu_us_per_request <<<"$json")" "$(jq '.peak_rss_kib / 1024 | floor' <<<"$json")" >&2
}

check() {
  local errors
  errors=$(jq '.errors | add' <<<"$2")
  [ "$errors" -eq 0 ] || die "$1: $errors requests failed: $(jq -c .errors <<<"$2")"
}

# The tokens the threads of a run saved (files `<name>.<thread>`), one pool file, and its size.
pool() { cat "$work/$1".[0-9]* 2>/dev/null | awk 'NF' >"$work/$1.pool"; wc -l <"$work/$1.pool"; }

chat="Basic $(printf 'chainlit-app:chainlit-dev-secret' | base64)"
mcp_client="Basic $(printf 'mcp-server:mcp-server-dev-secret' | base64)"
sync_client="Basic $(printf 'directory-sync:directory-sync-dev-secret' | base64)"
exchange_body="grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
exchange_body+="&subject_token={token}"
exchange_body+="&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"

# What one durable append costs on this disk bounds every audited figure below.
fsync_probe="not measured (no python3)"
if command -v python3 >/dev/null 2>&1; then
  mkdir -p "$audit_dir"
  fsync_probe=$(python3 - "$audit_dir/fsync-probe" <<'PROBE'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
times = []
for _ in range(1000):
    os.write(fd, b"x" * 400 + b"\n")
    start = time.perf_counter()
    os.fdatasync(fd)
    times.append(time.perf_counter() - start)
times.sort()
print("p50 %.0f µs, p99 %.0f µs" % (times[500] * 1e6, times[990] * 1e6))
PROBE
)
  rm -f "$audit_dir/fsync-probe"
fi
step "fdatasync of one line on the audit's file system: $fsync_probe"

step "user tokens for the exchange pool (password grant, not measured)"
run "logins" 3 "$idp/oauth2/v1/token" BENCH_METHOD=POST BENCH_AUTH="$chat" \
  BENCH_BODY="grant_type=password&username=EMP001&password=demo-password" \
  BENCH_SAVE="$work/user" >/dev/null
printf '  %d user tokens\n' "$(pool user)" >&2

step "scenarios (${warmup}s warm-up, ${duration}s measured, $connections connections)"
measure baseline "$api/healthz"
measure exchange "$idp/oauth2/v1/token" BENCH_METHOD=POST BENCH_AUTH="$chat" \
  BENCH_POOL="$work/user.pool" BENCH_BODY="$exchange_body&scope=mcp%3Ause" \
  BENCH_SAVE="$work/mcp"
pool mcp >/dev/null
# The on-behalf-of exchange runs twice as long as the others: its answers are the cold pool,
# which must outlast a measured run of decisions.
obo_body="$exchange_body&audience=$(jq -rn --arg u "$api" '$u | @uri')"
measure "obo exchange" "$idp/oauth2/v1/token" BENCH_METHOD=POST BENCH_AUTH="$mcp_client" \
  BENCH_POOL="$work/mcp.pool" BENCH_BODY="$obo_body" BENCH_SAVE="$work/api"
run "obo exchange (more)" "$duration" "$idp/oauth2/v1/token" BENCH_METHOD=POST \
  BENCH_AUTH="$mcp_client" BENCH_POOL="$work/mcp.pool" BENCH_BODY="$obo_body" \
  BENCH_SAVE="$work/api" >/dev/null
printf '  %d exchanged tokens for the actions API\n' "$(pool api)" >&2
head -n 16 "$work/api.pool" >"$work/warm.pool"
tail -n +17 "$work/api.pool" | shuf >"$work/cold.pool"
head -n 16 "$work/mcp.pool" >"$work/mcp-warm.pool"

decision="$api/actions/workday.hcm/get_employee"
measure "decision warm" "$decision" BENCH_AUTH=bearer BENCH_POOL="$work/warm.pool"
# The cold run's warm-up uses the warm pool, so no cold token is seen before it is measured.
run "decision cold (warm-up)" "$warmup" "$decision" BENCH_AUTH=bearer \
  BENCH_POOL="$work/warm.pool" >/dev/null
cold=$(run "decision cold" "$duration" "$decision" BENCH_AUTH=bearer BENCH_ONCE=1 \
  BENCH_POOL="$work/cold.pool")
check "decision cold" "$cold"
result["decision cold"]=$cold
printf '  %-16s %8.0f req/s  p50 %6d us  p99 %6d us  (%d tokens, each once, over %.1f s)\n' \
  "decision cold" "$(jq .rps <<<"$cold")" "$(jq .p50_us <<<"$cold")" \
  "$(jq .p99_us <<<"$cold")" "$(jq .requests <<<"$cold")" "$(jq .seconds <<<"$cold")" >&2

tool_call='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"workday_hcm_get_employee","arguments":{}}}'
measure "mcp tools/call" "$mcp" BENCH_METHOD=POST BENCH_AUTH=bearer \
  BENCH_POOL="$work/mcp-warm.pool" BENCH_BODY="$tool_call" BENCH_TYPE=application/json \
  BENCH_ACCEPT="application/json, text/event-stream" \
  BENCH_EXTRA="MCP-Protocol-Version: 2025-11-25"

# Half the warm peak, spread over the connections as a fixed delay between requests.
half_rate=$(jq -n --argjson w "${result[decision warm]}" '$w.rps / 2 | floor')
delay=$(jq -n --argjson r "$half_rate" --argjson c "$connections" '[($c * 1000 / $r | floor), 1] | max')
step "half-peak latency: about $half_rate req/s ($connections connections, one request each per $delay ms)"
measure "baseline @half" "$api/healthz" BENCH_DELAY="$delay"
measure "decision @half" "$decision" BENCH_AUTH=bearer BENCH_POOL="$work/warm.pool" \
  BENCH_DELAY="$delay"

step "token issuance: scopegate client_credentials vs oauth2-mock-server password grant"
measure "client creds" "$idp/oauth2/v1/token" BENCH_METHOD=POST BENCH_AUTH="$sync_client" \
  BENCH_BODY="grant_type=client_credentials"
peer_version=""
if [ "${BENCH_PEER:-1}" != "0" ]; then
  peer_dir="${XDG_CACHE_HOME:-$HOME/.cache}/scopegate-bench-peer"
  mkdir -p "$peer_dir"
  if [ ! -x "$peer_dir/node_modules/.bin/oauth2-mock-server" ]; then
    (cd "$peer_dir" && npm install --no-audit --no-fund --silent oauth2-mock-server@8 >&2) \
      || die "cannot install oauth2-mock-server from npm (BENCH_PEER=0 skips it)"
  fi
  peer_version=$(jq -r .version "$peer_dir/node_modules/oauth2-mock-server/package.json")
  # The same algorithm as scopegate's default (ES256), so the comparison is of the servers.
  node -e '
    const { generateKeyPairSync } = require("crypto");
    const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
    process.stdout.write(JSON.stringify({ ...jwk, alg: "ES256", kid: "bench", use: "sig" }));
  ' >"$work/peer-key.json"
  (cd "$work" && exec node "$peer_dir/node_modules/.bin/oauth2-mock-server" -a 127.0.0.1 \
    -p "$peer_port" --jwk "$work/peer-key.json" >"$work/peer.log" 2>&1) &
  peer_pid=$!
  cpu_pid=$peer_pid
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$peer_port/.well-known/openid-configuration" >/dev/null && break
    sleep 0.1
  done
  measure "peer password" "http://127.0.0.1:$peer_port/token" BENCH_METHOD=POST \
    BENCH_AUTH="$chat" BENCH_BODY="grant_type=password&username=EMP001&password=x&scope=openid"
  kill "$peer_pid" 2>/dev/null; peer_pid=""; cpu_pid=""
fi
step "overload: $overload_connections connections at an actions API" \
  "limited to $overload_limit in flight"
rss_before=$(memory_kib VmRSS)
overload=$(run "overload" "$duration" "$decision" --connections "$overload_connections" \
  BENCH_AUTH=bearer BENCH_POOL="$work/warm.pool")
overload_hwm=$(jq .peak_rss_kib <<<"$overload")
memory_kib VmHWM >>"$peaks"
peak_kib=$(sort -n "$peaks" | tail -n 1)
sleep 2
recovered=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(head -n 1 "$work/warm.pool")" "$decision")
ready=$(curl -s -o /dev/null -w '%{http_code}' "$api/readyz")
rss_after=$(memory_kib VmRSS)
[ "$recovered" = 200 ] && [ "$ready" = 200 ] \
  || die "after the overload the API answered $recovered (readyz $ready)"
shed=$(jq .errors.status <<<"$overload")
printf '  %d answers in %.0f s, %d shed with 503; peak RSS %d MiB; RSS %d MiB before, %d MiB 2 s after; next call %s\n' \
  "$(jq .requests <<<"$overload")" "$(jq .seconds <<<"$overload")" "$shed" \
  $((overload_hwm / 1024)) $((rss_before / 1024)) $((rss_after / 1024)) "$recovered" >&2
audit_lines=$(wc -l <"$audit_log")
"$bin" audit verify "$audit_log" >/dev/null \
  || die "audit verify failed after the run"

# --- the report ------------------------------------------------------------------------------
ratio() { jq -n --argjson a "$1" --argjson b "$2" '$a / $b * 1000 | round / 1000'; }
rps() { jq .rps <<<"${result[$1]}"; }
base=$(rps baseline)
verdict() { if jq -en "$1" >/dev/null; then echo met; else echo MISSED; fi; }
added_p99=$(( $(jq .p99_us <<<"${result[decision @half]}") - $(jq .p99_us <<<"${result[baseline @half]}") ))
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
machine="$(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr), $(awk '/MemTotal/ { printf "%d GiB", $2 / 1048576 }' /proc/meminfo)"

# A paragraph of the report, wrapped at 96 columns like the rest of docs/.
paragraph() { fold -s -w 96 | sed 's/ *$//'; printf '\n'; }

report=$(
  printf '### %s: `scripts/bench.sh`\n\n' "$(date -u +%Y-%m-%d)"
  {
    printf 'Machine: %s. Commit `%s`. wrk %s, ' "$machine" \
      "$(git -C "$root" rev-parse --short HEAD)" "$(wrk -v 2>&1 | awk 'NR==1 { print $2 }')"
    printf '%d connection(s) on %d thread(s)%s; %d s warm-up, %d s measured; ' \
      "$connections" "$threads" "$pin_note" "$warmup" "$duration"
    printf 'durable audit on %s (%d records written, chain verified).\n' \
      "$(df --output=fstype "$audit_dir" | tail -1)" "$audit_lines"
  } | paragraph
  printf 'One `fdatasync` of a line on the audit log'"'"'s file system: %s.\n' "$fsync_probe" \
    | paragraph
  printf '| scenario | req/s | × baseline | p50 | p99 | server CPU / request | server peak RSS |\n'
  printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n'
  for name in baseline exchange "obo exchange" "decision warm" "decision cold" "mcp tools/call" \
    "baseline @half" "decision @half" "client creds" "peer password"; do
    [ -n "${result[$name]:-}" ] || continue
    json=${result[$name]}
    printf '| %s | %.0f | %s | %s ms | %s ms | %d µs | %d MiB |\n' "$name" \
      "$(jq .rps <<<"$json")" "$(ratio "$(jq .rps <<<"$json")" "$base")" \
      "$(jq -r '.p50_us / 1000 * 100 | round / 100' <<<"$json")" \
      "$(jq -r '.p99_us / 1000 * 100 | round / 100' <<<"$json")" \
      "$(jq .cpu_us_per_request <<<"$json")" "$(jq '.peak_rss_kib / 1024 | floor' <<<"$json")"
  done
  printf '\n| target | measured | |\n| --- | ---: | --- |\n'
  x=$(ratio "$(rps exchange)" "$base")
  printf '| token exchange ≥ 0.15 × baseline | %s | %s |\n' "$x" "$(verdict "$x >= 0.15")"
  x=$(ratio "$(rps 'decision cold')" "$base")
  printf '| decision cold ≥ 0.15 × baseline | %s | %s |\n' "$x" "$(verdict "$x >= 0.15")"
  x=$(ratio "$(rps 'decision warm')" "$base")
  printf '| decision warm ≥ 0.40 × baseline | %s | %s |\n' "$x" "$(verdict "$x >= 0.40")"
  printf '| added p99 at half peak ≤ 2 ms | %.2f ms | %s |\n' "$(jq -n "$added_p99 / 1000")" \
    "$(verdict "$added_p99 <= 2000")"
  printf '| peak RSS ≤ 100 MB (whole run, overload included) | %d MiB | %s |\n' \
    $((peak_kib / 1024)) "$(verdict "$peak_kib <= 97656")"
  if [ -n "$peer_version" ]; then
    x=$(ratio "$(rps 'client creds')" "$(rps 'peer password')")
    printf '| client_credentials vs oauth2-mock-server %s password grant (ES256) | %s × | |\n' \
      "$peer_version" "$x"
  fi
  printf '\n'
  {
    printf 'Overload (`[limits.api] max_in_flight = %d`, %d connections for %d s): ' \
      "$overload_limit" "$overload_connections" "$duration"
    printf '%d answers, %d of them 503; peak RSS %d MiB; ' \
      "$(jq .requests <<<"$overload")" "$shed" $((overload_hwm / 1024))
    printf 'RSS %d MiB before and %d MiB two seconds after; the next call answered %s.\n' \
      $((rss_before / 1024)) $((rss_after / 1024)) "$recovered"
  } | paragraph
)
printf '\n%s\n' "$report"
if [ "${BENCH_APPEND:-1}" != "0" ]; then
  printf '\n%s\n' "$report" >>"$root/docs/BENCHMARKS.md"
  echo "appended to docs/BENCHMARKS.md" >&2
fi
