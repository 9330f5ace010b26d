#!/usr/bin/env bash
# Makes (or reuses) a Python venv with the pinned CI tools of scripts/ci-requirements.txt and
# prints its directory. The tests that need them call it; it installs from PyPI the first time
# and again only when the requirements change.
#
#   scripts/ci-venv.sh BUILD_DIR      # -> BUILD_DIR/ci-venv
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$(realpath -m "${1:?usage: ci-venv.sh BUILD_DIR}")
venv=$build_dir/ci-venv
requirements=$src/scripts/ci-requirements.txt
mkdir -p "$build_dir"

# Tests run in parallel: one of them installs, the others wait for it.
exec 9>"$build_dir/ci-venv.lock"
flock 9
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -x $venv/bin/python || $(cat "$venv/.requirements" 2>/dev/null) != "$want" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements" >&2
  echo "$want" >"$venv/.requirements"
fi
echo "$venv"
