#!/usr/bin/env bash
# Keeps the code in a document identical to the code that is built. A fenced block right after
#
#   <!-- snippet: examples/bank/account.cc#load -->
#
# must hold exactly the lines between `[snippet:load]` and `[end:load]` (comment lines, any
# comment style) in that file. The examples are compiled and run in CI (examples_installed), so
# a snippet that passes this check compiles.
#
#   scripts/doc-snippets.sh check docs/library.md   # fails, with a diff, when a block differs
#   scripts/doc-snippets.sh fix docs/library.md     # rewrites the blocks from the sources
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:?check or fix}
doc=${2:?a document}
expected=$(mktemp)
trap 'rm -f "$expected"' EXIT

awk -v root="$root" '
  function region(file, name,    line, inside, found, out) {
    path = root "/" file
    inside = 0; found = 0; out = ""
    while ((getline line < path) > 0) {
      if (line ~ ("\\[end:" name "\\]")) { inside = 0; continue }
      if (inside) out = out line "\n"
      if (line ~ ("\\[snippet:" name "\\]")) { inside = 1; found = 1 }
    }
    close(path)
    if (!found) { print "no [snippet:" name "] in " file > "/dev/stderr"; failed = 1 }
    return out
  }
  skipping == 2 { if ($0 ~ /^```/) skipping = 0; next }       # the old block, up to its fence
  skipping == 1 {
    if ($0 !~ /^```/) { print "no fenced block after the snippet marker at line " NR > "/dev/stderr"; failed = 1 }
    print; printf "%s", body; print "```"; skipping = 2; next
  }
  /^<!-- snippet: [^ ]+#[^ ]+ -->$/ {
    print
    spec = $3; split(spec, parts, "#")
    body = region(parts[1], parts[2]); skipping = 1; next
  }
  { print }
  END { exit failed }
' "$doc" > "$expected"

case $mode in
  check)
    if ! diff -u "$doc" "$expected"; then
      echo "$doc: the snippets differ from their sources (scripts/doc-snippets.sh fix $doc)" >&2
      exit 1
    fi
    echo "$doc: $(grep -c '^<!-- snippet:' "$doc") snippets match their sources"
    ;;
  fix) cp "$expected" "$doc" ;;
  *) echo "usage: $0 check|fix DOC" >&2; exit 2 ;;
esac
