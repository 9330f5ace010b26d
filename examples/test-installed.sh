#!/usr/bin/env bash
# The engine as a user gets it: installs it from BUILD_DIR to a temporary prefix, checks what was
# installed (public headers only, each compiling on its own include path; the pkg-config files
# link), builds examples/bank against the installed CMake package, runs it and checks its output.
#
#   examples/test-installed.sh BUILD_DIR            # the embedded store
#   examples/test-installed.sh BUILD_DIR servers    # PostgreSQL and Kafka of $ADSD_TEST_SERVERS
#
# ctest runs both (examples_installed, examples_installed_distributed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?the build directory of the engine}" && pwd)
mode=${2:-embedded}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" --component cqrs > "$tmp/install.log"
prefix=$tmp/prefix
inc=$prefix/include/cqrs
[[ -f $inc/store/event_store.h && -f $inc/core/status.h && -f $inc/projection/projection.h ]] \
  || fail "public headers missing under $inc"
for internal in log/segment_file.h log/log_impl.h store/index_builder.h store/postgres/appender.h \
                store/event_store_contract.h core/testing/temp_dir.h; do
  [[ ! -e $inc/$internal ]] || fail "internal header installed: $internal"
done
# The PostgreSQL store's former include paths forward to store/postgres/ (compiled below with the rest).
for moved in store/postgres_store.h store/postgres_verify.h; do
  [[ -f $inc/$moved ]] || fail "forwarding header missing: $moved"
done
[[ -f $prefix/lib/cmake/cqrs/cqrsConfig.cmake && -f $prefix/lib/cmake/cqrs/cqrsConfigVersion.cmake ]] \
  || fail "no CMake package"

# Every installed header, on the installed include path alone (an installed header that includes
# one left behind fails here), linked through pkg-config.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
{
  (cd "$prefix/include" && find cqrs -name '*.h' | sort | sed 's/.*/#include "&"/')
  echo 'int main() { return cqrs::Uuid::V7().ToString().size() == 36 ? 0 : 1; }'
} > "$tmp/all_headers.cc"
cxx=${CXX:-c++}
# shellcheck disable=SC2046  # pkg-config's output is a list of flags
$cxx -o "$tmp/all_headers" "$tmp/all_headers.cc" $(pkg-config --cflags --libs cqrs-kafka) -Wl,-rpath,"$prefix/lib" \
  || fail "the installed headers do not compile, or the pkg-config flags do not link"
"$tmp/all_headers" || fail "a program linked with pkg-config did not run"
echo "installed: $(cd "$prefix" && find include -name '*.h' | wc -l) headers, $(ls "$prefix"/lib/*.a "$prefix"/lib/*.so 2>/dev/null | wc -l) libraries, cqrs $(pkg-config --modversion cqrs)"

# The example, as its own CMake project against the package.
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
cmake -S "$here/bank" -B "$tmp/bank" "${generator[@]}" "${launcher[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$tmp/configure.log" || { cat "$tmp/configure.log"; fail "configure"; }
# Paths relative to the temporary directory in ccache's keys: the next run's build hits the cache.
CCACHE_BASEDIR=$tmp CCACHE_NOHASHDIR=1 cmake --build "$tmp/bank" > "$tmp/build.log" \
  || { cat "$tmp/build.log"; fail "build"; }

args=(--data-dir "$tmp/data")
expect_store="store: embedded log"
expect_audit="audit: store subscription"
if [[ $mode == servers ]]; then
  servers=${ADSD_TEST_SERVERS:?ADSD_TEST_SERVERS is not set: run through ctest}
  admin=$(head -n 1 "$servers/postgres/url")
  db=bank_$(date +%s)_$$
  psql -q "$admin" -c "CREATE DATABASE $db" > /dev/null
  args+=(--store "${admin%/*}/$db" --bus "kafka://$(head -n 1 "$servers/kafka/bootstrap")")
  expect_store="store: postgresql"
  expect_audit="audit: kafka consumer group"
fi
out=$("$tmp/bank/bank" "${args[@]}") || { echo "$out"; fail "the example failed"; }
echo "$out"
for line in "$expect_store" "$expect_audit" \
    "teller 1 withdraws 30: ok, version 3" \
    "teller 2 withdraws 50: VersionConflict" \
    "teller 2 reloads and withdraws 50: ok, version 4" \
    "bob withdraws 10: insufficient funds: balance 0" \
    "alice from her snapshot at version 4: 0 events replayed, balance 20" \
    "carol, written in dollars by the first version: balance 500" \
    "balance alice: 20 (version 4)" \
    "balance bob: 0 (version 1)" \
    "balance carol: 500 (version 2)" \
    "balance alice when the deposit was recorded: 100" \
    "audit saw: AccountOpened 3, Deposited 2, Withdrawn 2"; do
  grep -qxF "$line" <<< "$out" || fail "expected the line: $line"
done

# The seats example: a rule across streams, kept with conditional appends (tags and queries).
cmake -S "$here/seats" -B "$tmp/seats" "${generator[@]}" "${launcher[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$tmp/configure-seats.log" || { cat "$tmp/configure-seats.log"; fail "configure seats"; }
CCACHE_BASEDIR=$tmp CCACHE_NOHASHDIR=1 cmake --build "$tmp/seats" > "$tmp/build-seats.log" \
  || { cat "$tmp/build-seats.log"; fail "build seats"; }
seats_store=$tmp/seats-data
[[ $mode == servers ]] && seats_store="${admin%/*}/$db"
out=$("$tmp/seats/seats" --store "$seats_store") || { echo "$out"; fail "the seats example failed"; }
echo "$out"
for line in "alice reserves A1: ok, position" "bob reserves A1: InvalidArgument: seat A1-" \
    "alice reserves A2: ok, position" "alice reserves A3: InvalidArgument: alice-" \
    "8 clients race for B7: 1 reserved it, 7 did not"; do
  grep -qF "$line" <<< "$out" || fail "expected a line with: $line"
done
echo "PASS ($mode)"
