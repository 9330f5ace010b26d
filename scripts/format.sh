#!/usr/bin/env bash
# Formats every C++ file with the repository's .clang-format (installs clang-format if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends clang-format
fi
git ls-files '*.cc' '*.h' | xargs clang-format -i
