#!/usr/bin/env bash
# Runs ui_browser_test.py: the web UI in a real headless Chromium, driven by Selenium.
#
#   ui_browser_test.sh ADSD_BINARY VENV_DIR
#
# Needs Debian's chromium and chromium-driver (scripts/install-deps.sh --browser); exits 77
# (ctest: skipped) without them. Selenium comes from PyPI, pinned, into VENV_DIR (under the
# build directory), installed once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
adsd=$1
venv=$2
selenium=selenium==4.27.1

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "SKIPPED: chromium and chromedriver are not installed (scripts/install-deps.sh --browser)"
  exit 77
fi
if [[ $(cat "$venv/.installed" 2>/dev/null) != "$selenium" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$selenium"
  echo "$selenium" >"$venv/.installed"
fi
# Selenium finds the browser and driver given to it; it must not download any.
export SE_OFFLINE=true
exec "$venv/bin/python" "$here/ui_browser_test.py" "$adsd"
