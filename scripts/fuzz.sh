#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a while.
#
#   scripts/fuzz.sh [seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
./scripts/install-deps.sh
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
fi
cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DADSD_FUZZ=ON -DADSD_BUILD_TESTS=OFF -DADSD_BUILD_BENCH=OFF >/dev/null
targets=(log_record_fuzz event_codec_fuzz request_fuzz)
# Seed inputs kept in the repository, by target (read only: new inputs go to build/fuzz/corpus).
declare -A seeds=([request_fuzz]=app/adsd/fuzz/request)
cmake --build build/fuzz -j "$(nproc)" --target "${targets[@]}"
for t in "${targets[@]}"; do
  bin=$(find build/fuzz -name "$t" -type f -perm -u+x | head -n 1)
  mkdir -p "build/fuzz/corpus/$t"
  echo "== $t for ${seconds}s"
  "$bin" -max_total_time="$seconds" -print_final_stats=1 "build/fuzz/corpus/$t" ${seeds[$t]:-}
done
