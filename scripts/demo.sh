#!/usr/bin/env bash
# The design note's "Token Scoping in Action" script, with curl, jq and the scopegate CLI,
# against a running `scopegate up` (start it first: cargo run --release -- up).
# Each step prints what it shows; the script exits non-zero at the first surprise.
#
#   scripts/demo.sh                 # uses `scopegate` from PATH, else target/release or debug
#   SCOPEGATE=path/to/scopegate IDP=http://127.0.0.1:9000 API=http://127.0.0.1:8000 \
#     MCP=http://127.0.0.1:8001/mcp AUDIT_LOG=logs/audit.jsonl scripts/demo.sh
set -euo pipefail

missing=()
for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "demo.sh needs ${missing[*]}: install with your package manager, e.g." >&2
  echo "  sudo apt-get install ${missing[*]}    or    brew install ${missing[*]}" >&2
  exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${SCOPEGATE:-}" ]; then
  if command -v scopegate >/dev/null 2>&1; then SCOPEGATE=scopegate
  elif [ -x "$root/target/release/scopegate" ]; then SCOPEGATE="$root/target/release/scopegate"
  elif [ -x "$root/target/debug/scopegate" ]; then SCOPEGATE="$root/target/debug/scopegate"
  else echo "no scopegate binary: run cargo build --release first" >&2; exit 2
  fi
fi
IDP=${IDP:-http://127.0.0.1:9000}
API=${API:-http://127.0.0.1:8000}
MCP=${MCP:-http://127.0.0.1:8001/mcp}
AUDIT_LOG=${AUDIT_LOG:-logs/audit.jsonl}
CLIENT=(-u chainlit-app:chainlit-dev-secret)

step() { printf '\n# %s\n' "$*"; }
expect() { # expect DESCRIPTION ACTUAL WANTED
  if [ "$2" == "$3" ]; then printf '  ✓ %s: %s\n' "$1" "$2"
  else printf '  ✗ %s: got %s, wanted %s\n' "$1" "$2" "$3"; exit 1; fi
}
decode() { "$SCOPEGATE" token decode "$1" 2>/dev/null; }
mcp_call() { # mcp_call TOKEN TOOL: one JSON-RPC tools/call over Streamable HTTP (stateless)
  curl -s "$MCP" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-06-18' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\",\"arguments\":{}}}"
}

curl -sf "$IDP/readyz" >/dev/null || { echo "no scopegate at $IDP: start it with 'scopegate up'" >&2; exit 2; }

step "1. Get user token (1 hour)"
USER_TOKEN=$(curl -s "${CLIENT[@]}" "$IDP/oauth2/v1/token" \
  -d "grant_type=password&username=EMP001&password=demo-password" | jq -r .access_token)
expect "exp - iat" "$(decode "$USER_TOKEN" | jq '.claims.exp - .claims.iat')" 3600

step "2. Exchange for MCP token (5 min)"
MCP_TOKEN=$(curl -s "${CLIENT[@]}" "$IDP/oauth2/v1/token" \
  -d "grant_type=urn:ietf:params:oauth:grant-type:token-exchange" \
  -d "subject_token=$USER_TOKEN" \
  -d "subject_token_type=urn:ietf:params:oauth:token-type:access_token" \
  -d "requested_token_type=urn:ietf:params:oauth:token-type:access_token" \
  -d "scope=mcp:use" | jq -r .access_token)
expect "exp - iat" "$(decode "$MCP_TOKEN" | jq '.claims.exp - .claims.iat')" 300
expect "scope" "$(decode "$MCP_TOKEN" | jq -c .claims.scope)" '["mcp:use"]'

step "3. Try to use MCP token outside MCP context"
reply=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $MCP_TOKEN" \
  "$API/actions/workday.hcm/get_employee")
expect "status" "$(tail -1 <<<"$reply")" 403
expect "message" "$(head -1 <<<"$reply" | jq -r .error_description)" \
  "Token scope 'mcp:use' not valid for direct API access"

step "4. Use via MCP (works)"
result=$(mcp_call "$MCP_TOKEN" workday_hcm_get_employee)
expect "isError" "$(jq .result.isError <<<"$result")" false
expect "name" "$(jq -r .result.structuredContent.name <<<"$result")" "Alex Chen"

step "5. Check audit log"
tail -1 "$AUDIT_LOG" | jq
expect "acting_through" "$(tail -1 "$AUDIT_LOG" | jq -r .acting_through)" mcp-server
expect "token_ttl_seconds" "$(tail -1 "$AUDIT_LOG" | jq -r .token_ttl_seconds)" 300

step "6. Step-up: payroll needs MFA within 5 minutes"
result=$(mcp_call "$MCP_TOKEN" workday_payroll_get_compensation)
expect "challenge" "$(jq -r .result.structuredContent.error <<<"$result")" \
  insufficient_user_authentication
fresh=""
for attempt in 1 2; do
  code=$("$SCOPEGATE" directory totp EMP001 2>/dev/null)
  fresh=$(curl -s "${CLIENT[@]}" "$IDP/oauth2/v1/token" \
    -d "grant_type=password&username=EMP001&password=demo-password&totp=$code" \
    | jq -r '.access_token // empty')
  [ -n "$fresh" ] && break
  echo "  (that code was already used; waiting for the next one)"; sleep $((31 - $(date +%s) % 30))
done
FRESH_MCP=$("$SCOPEGATE" token exchange --issuer "$IDP" --subject-token "$fresh" --scope mcp:use)
result=$(mcp_call "$FRESH_MCP" workday_payroll_get_compensation)
expect "isError after MFA" "$(jq .result.isError <<<"$result")" false
expect "currency" "$(jq -r .result.structuredContent.currency <<<"$result")" USD

step "7. Revoke the user token: the MCP token becomes useless"
"$SCOPEGATE" token revoke --issuer "$IDP" "$USER_TOKEN" 2>/dev/null
expect "introspection" "$("$SCOPEGATE" token introspect --issuer "$IDP" "$MCP_TOKEN" | jq .active)" false
result=$(mcp_call "$MCP_TOKEN" workday_hcm_get_employee)
expect "tool call" "$(jq -r .result.structuredContent.error <<<"$result")" session_invalid

printf '\nEven if the MCP server is compromised, the attacker only has a 5-minute window and\n'
printf "can't use the token outside MCP context.\n"
