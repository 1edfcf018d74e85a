#!/usr/bin/env bash
# API contract fuzzing: schemathesis with every check against /api/openapi.json of a fresh
# `fangyan serve` on loopback, authenticated as a project admin with an API token. Reports every
# failure fails the run. Bounded: a few examples per operation and a time budget
# (SCHEMATHESIS_SECONDS). scripts/schemathesis.toml lists the few rules OpenAPI cannot state.
#
#   scripts/schemathesis.sh                 # uses target/release/fangyan (built if missing)
#   FANGYAN_BIN=path SCHEMATHESIS_EXAMPLES=50 SCHEMATHESIS_SEED=7 scripts/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
examples=${SCHEMATHESIS_EXAMPLES:-10}
seconds=${SCHEMATHESIS_SECONDS:-150}
seed=${SCHEMATHESIS_SEED:-13}
bin=${FANGYAN_BIN:-${CARGO_TARGET_DIR:-target}/release/fangyan}
venv=${SCHEMATHESIS_VENV:-.venv}

[ -x "$bin" ] || cargo build --release --locked --quiet
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

data="$work/data"
printf 'schemathesis password\n' | "$bin" user add st --password-stdin --init --data "$data" >/dev/null
"$bin" project create st-project --data "$data" >/dev/null
"$bin" project add-member st-project st --role admin --data "$data" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
RUST_LOG=warn "$bin" serve --addr "127.0.0.1:$port" --data "$data" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -sf "$base/api" >/dev/null && break
  sleep 0.1
done

# Log in (cookie), mint a token with it, then test with the token alone: no cookie, so the
# cross-origin check does not apply, exactly as for any script.
curl -sf -c "$work/jar" -H 'Content-Type: application/json' \
  -d '{"name":"st","password":"schemathesis password"}' "$base/api/login" >/dev/null
token=$(curl -sf -b "$work/jar" -H "Origin: $base" -H 'Content-Type: application/json' \
  -d '{"name":"schemathesis"}' "$base/api/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# Revoking tokens is left out: a DELETE /api/tokens/1 would revoke the run's own token and turn
# every later case into a 401. The invite look-up and accept are left out too: schemathesis
# follows the link from an invite's creation and replays the secret after another case used
# it, and the 410 `invite_used` it then gets is right (single use), but a rule in schemathesis.toml
# allowing 410 for them was applied to other operations of the same method in 4.32 (seen in
# this project's runs), which would loosen every GET and POST. tests/suite/users_admin.rs covers both operations on both databases.
set +e
"$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run "$base/api/openapi.json" \
  --checks all \
  --exclude-path '/api/tokens/{id}' \
  --exclude-path '/api/invites/{token}' \
  --exclude-path '/api/invites/{token}/accept' \
  --header "Authorization: Bearer $token" \
  --max-examples "$examples" \
  --max-time "$seconds" \
  --request-timeout 10 \
  --max-response-time 5 \
  --seed "$seed" \
  --generation-database none \
  --workers 2 \
  --no-color \
  --report junit --report-dir "target/schemathesis"
code=$?
set -e
if [ "$code" -ne 0 ]; then
  echo "schemathesis: failures (exit $code); server log:"
  tail -n 40 "$work/server.log"
fi
exit "$code"
