#!/usr/bin/env bash
# docs/openapi.json is a valid OpenAPI 3.1 document (openapi-spec-validator), and it describes
# every route the server registers (each `….Add("METHOD", "/path", …)` on a router in app/adsd's
# sources), and no route that does not exist; and that every problem type the sources can answer
# with (Problem(status, "slug", …), or a table row {status, "slug", …}, in app/, http/ and ads/)
# is in the document, and no other.
#
#   openapi_document_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?usage: openapi_document_test.sh SOURCE_DIR BUILD_DIR}
build_dir=${2:?}
venv=$("$src/scripts/ci-venv.sh" "$build_dir")
doc=$src/docs/openapi.json

"$venv/bin/openapi-spec-validator" "$doc"

"$venv/bin/python" - "$doc" "$src" <<'PY'
import json, pathlib, re, sys
text = open(sys.argv[1]).read()
doc = json.loads(text)
src = pathlib.Path(sys.argv[2])
def sources(*dirs):
    for d in dirs:
        for f in sorted(list((src / d).rglob("*.cc")) + list((src / d).rglob("*.h"))):
            if not f.name.endswith(("_test.cc", "_fuzz.cc", "test_client.h", "adsd_process.h", "webhook_receiver.h")):
                yield f.read_text()
failed = False
def fail(message):
    global failed
    failed = True
    print(message)

documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m != "parameters"}
served = set()
for code in sources("app/adsd"):
    served.update(re.findall(r'\.Add\(\s*"([A-Z]+)"\s*,\s*"(/[^"]*)"', code))
for m, p in sorted(served - documented):
    fail(f"not in docs/openapi.json: {m} {p}")
for m, p in sorted(documented - served):
    fail(f"in docs/openapi.json but not served: {m} {p}")

# The query parameters each route declares (RouteOptions.query_params: one given twice is 400)
# are the ones the document names for it: a parameter left out would take a guessed value again.
# (A path may be added twice, by the process roles that serve it and those that refuse it.)
def resolve(param):
    if "$ref" in param:
        return doc["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
    return param
declared = {}
for code in sources("app/adsd"):
    calls = list(re.finditer(r'\.Add\(\s*"([A-Z]+)"\s*,\s*"(/[^"]*)"', code))
    for i, call in enumerate(calls):
        body = code[call.end():calls[i + 1].start() if i + 1 < len(calls) else len(code)]
        found = re.search(r"query_params\s*=\s*\{([^}]*)\}", body)
        declared.setdefault(call.groups(), set()).update(re.findall(r'"([^"]+)"', found.group(1)) if found else [])
for (m, p), names in sorted(declared.items()):
    op = doc["paths"].get(p, {}).get(m.lower())
    if op is None:
        continue
    params = [resolve(x) for x in op.get("parameters", []) + doc["paths"][p].get("parameters", [])]
    named = {x["name"] for x in params if x["in"] == "query"}
    if names != named:
        fail(f"{m} {p}: query_params {sorted(names)} but docs/openapi.json names {sorted(named)}")
prefix = "https://adsd.dev/problems/"
answered = set()
for code in sources("app", "http", "ads"):
    answered.update(re.findall(r'Problem\(\s*\d+\s*,\s*"([a-z0-9-]+)"', code))
    # a table of {status, "slug", "title"} (write_routes.cc maps rejections so)
    answered.update(re.findall(r'\{\s*[45]\d\d\s*,\s*"([a-z0-9-]+)"\s*,', code))
    answered.update(re.findall(re.escape(prefix) + r"([a-z0-9-]+)", code))
    if re.search(r"\bOverloaded\(", code):
        answered.add("overloaded")
listed = set(re.findall(re.escape(prefix) + r"([a-z0-9-]+)", text)) | set(re.findall(r"^\| `([a-z0-9-]+)` \|", doc["info"]["description"], re.M))
for slug in sorted(answered - listed):
    fail(f"problem type {slug} is not in docs/openapi.json")
for slug in sorted(listed - answered):
    fail(f"docs/openapi.json names problem type {slug}, which nothing answers")
if failed or not served or not answered:
    sys.exit(1)
print(f"{len(served)} routes and {len(answered)} problem types, each documented")
PY
