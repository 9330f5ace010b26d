#!/usr/bin/env bash
# Formats every C++ file with the repository's .clang-format (installs clang-format if missing).
#
#   scripts/format.sh           rewrite the files in place
#   scripts/format.sh --check   change nothing; list the files that are not formatted and fail
#                               (the test `code_format`; skipped, exit 77, without clang-format)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --check ]]; then
  command -v clang-format > /dev/null || { echo "clang-format missing: scripts/install-deps.sh --ci"; exit 77; }
  bad=0
  while IFS= read -r f; do
    if ! clang-format --dry-run -Werror "$f" > /dev/null 2>&1; then
      echo "not formatted: $f (scripts/format.sh)"
      bad=1
    fi
  done < <(git ls-files '*.cc' '*.h')
  exit "$bad"
fi
if ! command -v clang-format >/dev/null; then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends clang-format
fi
git ls-files '*.cc' '*.h' | xargs clang-format -i
