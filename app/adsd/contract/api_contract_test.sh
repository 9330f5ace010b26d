#!/usr/bin/env bash
# The running server against its contract (docs/openapi.json), with schemathesis: a property-based
# fuzzer that derives requests from the document (its examples, its boundaries, random and invalid
# inputs, and chains of calls through its links) and checks every answer: no 5xx, a documented
# status, a documented content type, a body and headers that match their schemas; and that the
# token is enforced and undocumented methods are refused with a correct Allow.
#
#   api_contract_test.sh ADSD_BINARY SOURCE_DIR BUILD_DIR
#
# adsd runs embedded (data in a temporary directory, a free port it picks itself) with a retailer
# key and an admin key. The document schemathesis reads is the one adsd serves at
# /v1/openapi.json, which must be byte for byte docs/openapi.json. Deterministic: a fixed seed and
# a bounded number of examples per operation.
set -euo pipefail
adsd=${1:?usage: api_contract_test.sh ADSD_BINARY SOURCE_DIR BUILD_DIR}
# Absolute: schemathesis runs from a temporary directory (below), and loads hooks.py by path.
src=$(cd "${2:?}" && pwd)
build_dir=$(cd "${3:?}" && pwd)
seed=${ADSD_CONTRACT_SEED:-20261202}
examples=${ADSD_CONTRACT_EXAMPLES:-50}

venv=$("$src/scripts/ci-venv.sh" "$build_dir")
tmp=$(mktemp -d)
adsd_pid=
cleanup() {
  if [[ -n $adsd_pid ]]; then kill "$adsd_pid" 2>/dev/null && wait "$adsd_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Keys as `adsctl keys add` writes them: the file keeps only the SHA-256 of each token. Unlimited,
# so that the fuzzer's pace never meets a 429 (the rate limit has its own tests).
retailer_token=contract-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
admin_token=admin-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
hash() { printf 'sha256:%s' "$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)"; }
cat >"$tmp/keys.toml" <<KEYS
[[key]]
id = "contract"
hash = "$(hash "$retailer_token")"
retailer = "contract"
unlimited = true

[[key]]
id = "admin"
hash = "$(hash "$admin_token")"
role = "admin"
KEYS

# Starts adsd with the given flags; sets adsd_pid and base (http://127.0.0.1:PORT).
start_adsd() {
  local name=$1
  shift
  "$adsd" --data-dir "$tmp/$name" --api-keys "$tmp/keys.toml" --listen 127.0.0.1:0 "$@" >"$tmp/$name.log" 2>&1 &
  adsd_pid=$!
  base=
  for _ in $(seq 1 300); do  # up to 30 s for the "listening" line
    base=$(grep -o -m1 'listening on http://127\.0\.0\.1:[0-9]*' "$tmp/$name.log" | sed 's/listening on //' || true)
    [[ -n $base ]] && return 0
    kill -0 "$adsd_pid" 2>/dev/null || { cat "$tmp/$name.log" >&2; echo "adsd exited" >&2; exit 1; }
    sleep 0.1
  done
  cat "$tmp/$name.log" >&2
  echo "adsd did not start listening" >&2
  exit 1
}
stop_adsd() {
  kill "$adsd_pid" && wait "$adsd_pid" || true
  adsd_pid=
}

# Without --webhooks-allow-private: webhook URLs that are plain http or private are refused (422
# invalid-webhook), which is fuzzed as well. Every other host is replaced before the request by
# one that routes nowhere (hooks.py, before_call), and adsd gives up connecting to it quickly.
start_adsd async --webhook-connect-timeout-ms 200

# The served contract is the repository's.
curl -sf "$base/v1/openapi.json" -o "$tmp/served.json"
cmp "$tmp/served.json" "$src/docs/openapi.json" || { echo "GET /v1/openapi.json differs from docs/openapi.json" >&2; exit 1; }

# Streams that never end (text/event-stream) cannot be fuzzed request by request: their own
# end-to-end tests cover them.
excluded=()
while read -r path; do excluded+=(--exclude-path "$path"); done < <("$venv/bin/python" - "$src/docs/openapi.json" <<'PY'
import json, sys
for path, item in json.load(open(sys.argv[1]))["paths"].items():
    ops = [o for m, o in item.items() if m != "parameters"]
    if any("text/event-stream" in r.get("content", {}) for o in ops for r in o.get("responses", {}).values()):
        print(path)
PY
)

# Besides conformance: a request without the token is refused (401), a method the document does
# not name for a path is 405 with an Allow header that lists exactly the documented ones.
checks=no_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
checks+=,response_headers_conformance,ignored_auth,unsupported_method,allow_header_conformance
run() {
  local token=$1
  shift
  # From the temporary directory: hypothesis keeps its example database in the working directory.
  (cd "$tmp" && SCHEMATHESIS_HOOKS="$src/app/adsd/contract/hooks.py" "$venv/bin/schemathesis" --no-color run "$base/v1/openapi.json" --url "$base" \
     -H "Authorization: Bearer $token" --checks "$checks" --seed "$seed" --max-examples "$examples" \
     --workers 1 --request-timeout 15 --suppress-health-check all --output-truncate false \
     ${excluded[@]+"${excluded[@]}"} "$@")
}
echo "== retailer token"
run "$retailer_token"
# Admin: the operator routes, and the retailer routes as an admin sees them (a `retailer=`; an
# admin may not register a webhook, but lists, removes and retries any retailer's).
echo "== admin token"
run "$admin_token" --phases examples,coverage,fuzzing --include-path-regex '^/v1/(admin|ads$|reports|webhooks)'
stop_adsd

# The sync pipeline answers a submission with the decided ad (201), another schema.
echo "== sync pipeline, retailer token"
start_adsd sync --pipeline sync
run "$retailer_token" --include-path-regex '^/v1/ads'
stop_adsd
