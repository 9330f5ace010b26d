#!/usr/bin/env bash
# Installs everything, builds, and runs adsd on the embedded default.
# Until the ad service lands, this runs the engine tour (cqrs_demo) against ./data.
#
#   scripts/run.sh [--data-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target cqrs_demo adsctl
data_dir=./data
if [[ ${1:-} == --data-dir ]]; then data_dir=$2; fi
./build/default/app/demo/cqrs_demo --data-dir "$data_dir"
echo
echo "Check the log's integrity yourself:"
echo "  ./build/default/app/adsctl/adsctl verify --data-dir $data_dir"
