#!/usr/bin/env bash
# docs/openapi.json is a valid OpenAPI 3.1 document (openapi-spec-validator), and it describes
# every route the server registers (each `….Add("METHOD", "/path", …)` on a router in app/adsd's
# sources), and no route that does not exist.
#
#   openapi_document_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?usage: openapi_document_test.sh SOURCE_DIR BUILD_DIR}
build_dir=${2:?}
venv=$("$src/scripts/ci-venv.sh" "$build_dir")
doc=$src/docs/openapi.json

"$venv/bin/openapi-spec-validator" "$doc"

"$venv/bin/python" - "$doc" "$src"/app/adsd/*.cc <<'PY'
import json, re, sys
doc = json.load(open(sys.argv[1]))
documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m != "parameters"}
served = set()
for source in sys.argv[2:]:
    if source.endswith(("_test.cc", "_fuzz.cc")):
        continue
    for m, p in re.findall(r'\.Add\(\s*"([A-Z]+)"\s*,\s*"(/[^"]*)"', open(source).read()):
        served.add((m, p))
missing, extra = sorted(served - documented), sorted(documented - served)
for m, p in missing:
    print(f"not in docs/openapi.json: {m} {p}")
for m, p in extra:
    print(f"in docs/openapi.json but not served: {m} {p}")
if missing or extra or not served:
    sys.exit(1)
print(f"{len(served)} routes, each documented")
PY
