#!/usr/bin/env bash
# Checks the monitoring files (ctest prometheus_rules_test):
#   - prometheus/adsd-alerts.yml: `promtool check rules`, and its unit tests
#     (`promtool test rules prometheus/adsd-alerts.test.yml`);
#   - prometheus/prometheus.yml, the example configuration: `promtool check config`;
#   - grafana/adsd.json: valid JSON whose every query is valid PromQL (promtool checks them as
#     recording rules);
#   - the rules and the dashboard name only metrics adsd exports, and every alert has its entry
#     in docs/operations.md.
# promtool is Debian's `prometheus` package (scripts/install-deps.sh --ci); without it the test
# is skipped (exit 77).
#
#   deploy/check.sh [SOURCE_DIR]
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
if ! command -v promtool >/dev/null; then
  echo "promtool not found: install it with scripts/install-deps.sh --ci (Debian package prometheus)" >&2
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$src/deploy/prometheus"
promtool check rules adsd-alerts.yml
promtool test rules adsd-alerts.test.yml
promtool check config prometheus.yml

python3 - "$src" "$tmp/dashboard-rules.yml" <<'PY'
import json, pathlib, re, sys
src, rules_out = pathlib.Path(sys.argv[1]), sys.argv[2]

# What adsd exports: the metric names its sources write (tests aside), and a histogram's series.
exported = set()
for f in list(src.glob("app/**/*.cc")) + list(src.glob("http/**/*.cc")) + list(src.glob("app/**/*.h")) + list(src.glob("http/**/*.h")):
    if f.name.endswith("_test.cc"):
        continue
    exported.update(re.findall(r'"(adsd_[a-z_]+)', f.read_text()))
exported |= {n + s for n in list(exported) for s in ("_bucket", "_count", "_sum")}
# From other exporters: Prometheus itself and the blackbox exporter.
foreign = {"up", "probe_success"}

def names(expr):
    return set(re.findall(r"\b(adsd_[a-z_]+|up|probe_success)\b", expr))

errors = []
rules_text = (src / "deploy/prometheus/adsd-alerts.yml").read_text()
alerts = re.findall(r"^\s*- alert: (\w+)", rules_text, re.M)
for n in names(rules_text) - exported - foreign:
    errors.append(f"adsd-alerts.yml: {n} is not a metric adsd exports")
ops = (src / "docs/operations.md").read_text()
for a in alerts:
    if not re.search(rf"^### {a}$", ops, re.M):
        errors.append(f"docs/operations.md has no '### {a}' entry (the alert's runbook_url)")
    if f"docs/operations.md#{a.lower()}" not in rules_text:
        errors.append(f"adsd-alerts.yml: {a} does not link docs/operations.md#{a.lower()}")

dash = json.loads((src / "deploy/grafana/adsd.json").read_text())
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
if not exprs:
    errors.append("grafana/adsd.json has no queries")
for e in exprs:
    for n in names(e) - exported - foreign:
        errors.append(f"grafana/adsd.json: {n} is not a metric adsd exports")
# Grafana's variables, replaced by values Prometheus accepts, so promtool can parse each query.
with open(rules_out, "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        e = e.replace("$__rate_interval", "5m").replace("$instance", ".*")
        out.write(f"      - record: dashboard:query{i}\n        expr: {json.dumps(e)}\n")
for e in errors:
    print(e, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"{len(alerts)} alerts, each with its runbook entry; {len(exprs)} dashboard queries; every metric exported")
PY
promtool check rules "$tmp/dashboard-rules.yml"
