#!/usr/bin/env bash
# The adsd Debian package, end to end:
# 1. builds it with CPack from BUILD_DIR (built already) and checks what it holds (dpkg-deb -c,
#    the control files), and the systemd unit (systemd-analyze verify, where it exists);
# 2. as root with dpkg, and when no adsd package is installed already: installs it with dpkg -i,
#    checks the user and data directory postinst made, runs /usr/bin/adsd as the unit would (its
#    ExecStart line, as user adsd, with /etc/adsd/adsd.conf; on a free port: there is no systemd
#    to start it here), GETs /healthz and /readyz, stops it, and purges the package.
#
#   packaging/test-deb.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?the build directory}" && pwd)
tmp=$(mktemp -d)
pid=
installed_here=0
user_made_here=0
cleanup() {
  [[ -z $pid ]] || { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  if ((installed_here)); then dpkg --purge adsd > /dev/null 2>&1 || true; fi
  if ((user_made_here)); then userdel adsd > /dev/null 2>&1 || true; groupdel adsd > /dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" > "$tmp/cpack.log" 2>&1 \
  || { cat "$tmp/cpack.log"; fail "cpack"; }
deb=$(ls "$tmp"/out/adsd_*.deb 2>/dev/null | head -n 1 || true)
[[ -n $deb ]] || { cat "$tmp/cpack.log"; ls -R "$tmp/out"; fail "no .deb"; }
echo "package: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"
dpkg-deb -c "$deb" | tee "$tmp/contents"
for f in ./usr/bin/adsd ./usr/bin/adsctl ./usr/bin/ads-validator ./lib/systemd/system/adsd.service \
         ./etc/adsd/adsd.conf ./etc/adsd/rules.toml; do
  grep -q " $f\$" "$tmp/contents" || fail "the package lacks $f"
done
! grep -q 'include/cqrs\|libcqrs' "$tmp/contents" || fail "the engine's development files are in the package"
dpkg-deb -I "$deb" > "$tmp/info"
grep -E '^ (Package|Version|Depends):' "$tmp/info"
for control in postinst prerm postrm conffiles; do
  grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\*? *$control" "$tmp/info" || fail "no $control in the package"
done

# The unit as packaged. verify checks that ExecStart's binary exists: point it at the packaged one.
dpkg-deb -x "$deb" "$tmp/root"
if command -v systemd-analyze > /dev/null; then
  sed "s|/usr/bin/adsd|$tmp/root/usr/bin/adsd|" "$tmp/root/lib/systemd/system/adsd.service" > "$tmp/adsd.service"
  systemd-analyze verify "$tmp/adsd.service" 2>&1 | tee "$tmp/verify.log"
  ! grep -qi 'adsd.service' "$tmp/verify.log" || fail "systemd-analyze verify found problems in the unit"
  echo "systemd-analyze verify: unit ok"
else
  echo "SKIP systemd-analyze verify: not installed"
fi

if [[ $(id -u) -ne 0 ]] || ! command -v dpkg > /dev/null; then
  echo "SKIP dpkg -i: needs root and dpkg"
  exit 0
fi
if dpkg-query -W -f='${Status}' adsd 2>/dev/null | grep -q 'install ok installed'; then
  echo "SKIP dpkg -i: an adsd package is installed on this system already; not touching it"
  exit 0
fi
getent passwd adsd > /dev/null || user_made_here=1
installed_here=1
dpkg -i "$deb" > "$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -i"; }
getent passwd adsd | grep -q ':/var/lib/adsd:/usr/sbin/nologin$' || fail "postinst did not make the adsd user"
[[ $(stat -c '%U %a' /var/lib/adsd) == "adsd 750" ]] || fail "/var/lib/adsd: $(stat -c '%U %a' /var/lib/adsd)"
[[ -x /usr/bin/adsd && -x /usr/bin/adsctl && -x /usr/bin/ads-validator ]] || fail "binaries not installed"

# Start adsd as the unit does: its ExecStart line, with the packaged environment file, as adsd
# (setpriv execs it: the signal below reaches adsd itself).
port=$("$here/../scripts/servers/free-port.sh")
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/adsd.service)
set -a
# shellcheck disable=SC1091
. /etc/adsd/adsd.conf
set +a
ADSD_LISTEN=127.0.0.1:$port
# systemd's ${VAR} and $VAR (split on whitespace) read the same in the shell.
eval "cmd=($exec_start)"
echo "running as adsd: ${cmd[*]}"
setpriv --reuid adsd --regid adsd --init-groups -- "${cmd[@]}" > "$tmp/adsd.out" 2>&1 &
pid=$!
deadline=$((SECONDS + 30))
until curl -sf "http://127.0.0.1:$port/healthz" > /dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/adsd.out"; fail "adsd exited"; }
  ((SECONDS < deadline)) || { cat "$tmp/adsd.out"; fail "no /healthz within 30 s"; }
  sleep 0.1
done
echo "GET /healthz: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")"
until [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]]; do
  ((SECONDS < deadline)) || { cat "$tmp/adsd.out"; fail "not ready within 30 s"; }
  sleep 0.1
done
echo "GET /readyz: 200"
[[ -f /var/lib/adsd/api-keys.toml ]] || fail "adsd did not write its data in /var/lib/adsd"
[[ $(stat -c '%U' /var/lib/adsd/api-keys.toml) == adsd ]] || fail "data not owned by adsd"
kill -TERM "$pid"
wait "$pid" || fail "adsd exited with $? on SIGTERM"
pid=
echo "data in /var/lib/adsd: $(cd /var/lib/adsd && ls | tr '\n' ' ')"

dpkg --purge adsd > "$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg --purge"; }
installed_here=0
[[ ! -e /usr/bin/adsd && ! -e /lib/systemd/system/adsd.service && ! -e /etc/adsd && ! -e /var/lib/adsd ]] \
  || fail "purge left files behind"
echo "PASS: installed, served /healthz from its installed paths, purged"
