#!/usr/bin/env bash
# The service benchmark behind docs/benchmarks.md, from scratch in one command: installs what it
# needs (wrk, nginx), builds, reproduces the case study's tables with the real pipelines
# (adsctl bench paper), measures the real capacity beside nginx (adsctl bench capacity), then
# rewrites the generated half of docs/benchmarks.md and the charts in docs/img/.
#
#   scripts/bench.sh [--quick]     --quick: shorter runs, for trying the tooling (not for figures)
#
# Results (JSON) are kept in build/bench/. Takes about 5 minutes after the build.
set -euo pipefail
cd "$(dirname "$0")/.."

paper_seconds=15
capacity_seconds=8
if [[ ${1:-} == --quick ]]; then
  paper_seconds=4
  capacity_seconds=3
fi

./scripts/install-deps.sh --bench
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target adsd adsctl

adsctl=build/default/app/adsctl/adsctl
out=build/bench
mkdir -p "$out"
"$adsctl" bench paper --seconds "$paper_seconds" --json "$out/paper.json"
"$adsctl" bench capacity --seconds "$capacity_seconds" --json "$out/capacity.json"
"$adsctl" bench report --paper "$out/paper.json" --capacity "$out/capacity.json" --docs docs \
  --command "scripts/bench.sh"
echo "wrote docs/benchmarks.md and docs/img/*.svg from $out/*.json"
