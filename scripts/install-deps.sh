#!/usr/bin/env bash
# Installs every Debian package adsd needs to build, run and test.
# Idempotent: packages already present are skipped by apt-get.
#
#   scripts/install-deps.sh [--bench] [--servers] [--ci] [--browser]
#     --bench     also the benchmark's load generator and the HTTP server it measures against
#                 (wrk, nginx)
#     --servers   also what scripts/servers/ runs: PostgreSQL 15, and Java 17 with Maven for
#                 the Apache Kafka broker (its jars come from Maven Central); kcat, a stock Kafka
#                 client the tests read the topic with
#     --ci        also promtool (package prometheus), which checks the alert rules, and
#                 clang-format, which checks the code's format (without them those tests are
#                 skipped); the API contract tests' Python tools come from PyPI
#                 into a venv (scripts/ci-venv.sh), hence python3-venv above
#     --browser   also the headless browser the web UI's test drives (Chromium and its WebDriver),
#                 and python3-venv for the test's pinned Selenium (from PyPI)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libsimdjson-dev rapidjson-dev libsqlite3-dev sqlite3 libpq-dev librdkafka-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libssl-dev libxxhash-dev
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  curl python3 python3-venv
  systemd   # systemd-analyze, which checks the package's unit (packaging/test-deb.sh); nothing is started
)
for option in "$@"; do
  case $option in
    --bench) packages+=(wrk nginx-light) ;;
    --servers) packages+=(postgresql-15 openjdk-17-jre-headless maven kcat) ;;
    --ci) packages+=(prometheus clang-format) ;;
    --browser) packages+=(chromium chromium-driver python3-venv) ;;
    *) echo "install-deps.sh: unknown option $option" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
