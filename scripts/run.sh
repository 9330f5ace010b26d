#!/usr/bin/env bash
# Installs everything, builds, and runs adsd on the embedded default (event log + SQLite).
#
#   scripts/run.sh [adsd options, e.g. --data-dir ./data --listen 127.0.0.1:8080 --pipeline sync]
#
# On the first start adsd creates development API keys in DATA_DIR/api-keys.toml (which keeps only
# their hashes) and prints the tokens once; this script catches the retailer token from that output
# and prints a curl walkthrough that uses it. Ctrl-C stops the service.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target adsd adsctl

data_dir=./data
listen=127.0.0.1:8080
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --data-dir) data_dir=${args[i + 1]} ;;
    --listen) listen=${args[i + 1]} ;;
  esac
done
defaults=()
[[ " $* " == *" --data-dir "* ]] || defaults+=(--data-dir "$data_dir")
[[ " $* " == *" --listen "* ]] || defaults+=(--listen "$listen")

out=$(mktemp)
./build/default/app/adsd/adsd "${defaults[@]}" "$@" > >(tee "$out") &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; rm -f "$out"' INT TERM EXIT
for _ in $(seq 1 100); do
  # The listening line and the new keys are written together, after the listener is up.
  grep -q '^adsd listening' "$out" && curl -sf "http://$listen/healthz" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || exit 1
  sleep 0.1
done
token=$(sed -n 's/^  demo  *\(demo-[a-z0-9]*\)$/\1/p' "$out" | head -n 1)
if [[ -z $token ]]; then
  # Not a first start: the token was printed when the key file was made, and only its hash kept.
  token='<the demo token printed at the first start>'
  cat <<EOF_LOST
(The demo token was printed when $data_dir/api-keys.toml was created; the file keeps only its hash.
 If it is lost, make a new one and restart adsd:
   ./build/default/app/adsctl/adsctl keys rotate --file $data_dir/api-keys.toml --id demo)
EOF_LOST
fi
cat <<EOF_WALKTHROUGH

adsd is running on http://$listen (data in $data_dir). Try it from another terminal:

  export ADSD=http://$listen TOKEN=$token

  # 1. Submit a good ad and a bad one: each answer carries the ad id and the log position.
  curl -s -X POST \$ADSD/v1/ads -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
    -d '{"title":"Winter boots","description":"Warm and dry.","landing_url":"https://shop.example.com/boots","category":"apparel","bid_cents":120,"currency":"USD","countries":["US","CA"]}'
  curl -s -X POST \$ADSD/v1/ads -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
    -d '{"title":"GUARANTEED winter boots!!!","landing_url":"https://bit.ly/boots","category":"apparel","bid_cents":120,"currency":"USD","countries":["US"]}'

  # 2. Read both verdicts (put an ad_id from above in ID; min_position waits for the read side).
  curl -s "\$ADSD/v1/ads/\$ID?min_position=2" -H "Authorization: Bearer \$TOKEN"

  # 3. The failed ads, today's report, and an ad's full history with positions and hashes.
  curl -s "\$ADSD/v1/ads?status=rejected" -H "Authorization: Bearer \$TOKEN"
  curl -s "\$ADSD/v1/reports/daily?date=\$(date -u +%F)" -H "Authorization: Bearer \$TOKEN"
  curl -s "\$ADSD/v1/ads/\$ID/events" -H "Authorization: Bearer \$TOKEN"

  # 4. A bad request gets a problem+json answer naming every bad field.
  curl -s -X POST \$ADSD/v1/ads -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' -d '{"title":""}'

Press Ctrl-C to stop adsd (it finishes in-flight requests first).
EOF_WALKTHROUGH
wait $pid
