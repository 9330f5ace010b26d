#!/usr/bin/env bash
# scripts/pg-backup.sh against a real PostgreSQL 15 of its own (scripts/servers/postgres.sh, a
# free port, a temporary directory; stopped by its PID file whatever happens): WAL archiving, a
# base backup, a restore to a point in time that keeps exactly the rows committed before it, a
# restore to the archive's end, and each bad input refused with its error, nothing written.
#
#   scripts/pg-backup-test.sh WORK_DIR      (ctest: pg_backup_script_test)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?a work directory}
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
# The server runs as `postgres` when this runs as root: it must reach its directories.
for d in "$work" "$(dirname "$work")"; do chmod o+x "$d"; done
pg=$here/servers/postgres.sh
backup_sh=$here/pg-backup.sh
psql=/usr/lib/postgresql/15/bin/psql
[[ -x $psql ]] || { echo "PostgreSQL 15 is not installed: skipped"; exit 77; }
trap '"$pg" stop "$work/pg" immediate > /dev/null 2>&1 || true' EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
q() { "$psql" -X -q -At -v ON_ERROR_STOP=1 -d "$url" -c "$1"; }
# expect_error WHAT PATTERN COMMAND...: the command exits 1 and says PATTERN on stderr.
expect_error() {
  local what=$1 pattern=$2 rc=0
  shift 2
  "$@" > "$work/out" 2> "$work/err" || rc=$?
  if [[ $rc -ne 1 ]]; then
    fail "$what: exit $rc, not 1 ($(cat "$work/err"))"
  elif ! grep -q -- "$pattern" "$work/err"; then
    fail "$what: the error does not say '$pattern': $(cat "$work/err")"
  else
    echo "ok: $what: $(cat "$work/err")"
  fi
}
now_utc() { q "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"; }

url=$("$pg" start "$work/pg")
archive=$work/archive

# Base backups need archiving on.
expect_error "a base backup without WAL archiving" "WAL archiving is off" "$backup_sh" base "$url" "$work/nobackup"
[[ ! -e $work/nobackup ]] || fail "the refused base backup left $work/nobackup"

"$backup_sh" archive-on "$url" "$archive"
"$pg" stop "$work/pg" > /dev/null
url=$("$pg" start "$work/pg")
[[ $(q "SHOW archive_mode") == on ]] || fail "archive_mode is not on after the restart"

q "CREATE TABLE t(i int PRIMARY KEY)"
q "INSERT INTO t SELECT generate_series(1, 10)"
"$backup_sh" base "$url" "$work/backup"
"$backup_sh" verify "$work/backup" > /dev/null || fail "a fresh backup does not verify"
expect_error "a base backup into an existing directory" "exists" "$backup_sh" base "$url" "$work/backup"

# Rows 11-20 before T, in two WAL segments; 21-30 after it.
q "INSERT INTO t SELECT generate_series(11, 15)"
"$backup_sh" switch-wal "$url" "$archive" > /dev/null
q "INSERT INTO t SELECT generate_series(16, 20)"
"$backup_sh" switch-wal "$url" "$archive" > /dev/null
target=$(now_utc)
q "INSERT INTO t SELECT generate_series(21, 30)"
"$backup_sh" switch-wal "$url" "$archive" > /dev/null
ended=$(sed -n 's/^finished_at=//p' "$work/backup/adsd-backup.info")

# The disaster: the cluster is stopped and moved aside.
"$pg" stop "$work/pg" > /dev/null
mv "$work/pg/data" "$work/pg/data.damaged"
data=$work/pg/data

# Bad input: each refused before anything is written.
before_backup=$(date -u -d "$ended - 1 second" +%FT%T.%6NZ)
expect_error "a target before the base backup ended" "before the base backup" \
  "$backup_sh" restore "$work/backup" "$archive" "$data" --to-time "$before_backup"
expect_error "a target after the archive's last commit" "ends before" \
  "$backup_sh" restore "$work/backup" "$archive" "$data" --to-time "$(date -u -d '+1 hour' +%FT%TZ)"
expect_error "a target time that is not RFC 3339" "RFC 3339" \
  "$backup_sh" restore "$work/backup" "$archive" "$data" --to-time "yesterday"
start_wal=$(sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]*\))$/\1/p' "$work/backup/data/backup_label")
mapfile -t segments < <(cd "$archive" && ls | grep -E '^[0-9A-F]{24}$' | sort)
# An archive without the backup's first segment, and one with a segment missing in the middle.
mkdir "$work/archive-no-start" "$work/archive-gap"
cp "$archive"/* "$work/archive-no-start/"
rm "$work/archive-no-start/$start_wal"
cp "$archive"/* "$work/archive-gap/"
middle=${segments[${#segments[@]} - 2]}
[[ $middle > $start_wal ]] || fail "the test meant to have segments after the backup's start"
rm "$work/archive-gap/$middle"
expect_error "an archive without the backup's first segment" "lacks $start_wal" \
  "$backup_sh" restore "$work/backup" "$work/archive-no-start" "$data" --to-time "$target"
expect_error "an archive with a segment missing" "has a gap" \
  "$backup_sh" restore "$work/backup" "$work/archive-gap" "$data" --to-time "$target"
expect_error "a missing archive" "does not exist" \
  "$backup_sh" restore "$work/backup" "$work/no-archive" "$data" --to-time "$target"
mkdir -p "$data"
touch "$data/PG_VERSION"
expect_error "a PGDATA that is not empty" "not empty" \
  "$backup_sh" restore "$work/backup" "$archive" "$data" --to-time "$target"
rm -rf "$data"
# A damaged copy of the backup: one byte of a data file changed.
cp -a "$work/backup" "$work/backup-damaged"
victim=$(find "$work/backup-damaged/data/base" -type f -size +8k -print -quit)
printf 'X' | dd of="$victim" bs=1 seek=100 conv=notrunc status=none
expect_error "a damaged base backup" "damaged" \
  "$backup_sh" restore "$work/backup-damaged" "$archive" "$data" --to-time "$target"
expect_error "verify of a damaged base backup" "damaged" "$backup_sh" verify "$work/backup-damaged"
[[ ! -e $data ]] || fail "a refused restore wrote $data"
rc=0
"$backup_sh" restore "$work/backup" "$archive" "$data" > /dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "a restore without --to-time or --to-end: exit $rc, not 2"

# To the point in time: rows 1-20, not one of 21-30; then it takes writes on a new timeline.
"$backup_sh" restore "$work/backup" "$archive" "$data" --to-time "$target" > /dev/null
url=$("$pg" start "$work/pg")
"$backup_sh" wait "$url" 120 | grep -q "timeline 2" || fail "the restored server is not on timeline 2"
[[ $(q "SELECT count(*) || ' ' || max(i) FROM t") == "20 20" ]] ||
  fail "restored to $target: $(q "SELECT count(*) || ' ' || max(i) FROM t"), not rows 1-20"
q "INSERT INTO t VALUES (21)" || fail "the restored server refuses a write"
echo "ok: restored to $target: rows 1-20, and it takes writes"

# To the archive's end (the first history's, before the restore above).
"$pg" stop "$work/pg" > /dev/null
mv "$data" "$work/pg/data.timeline2"
"$backup_sh" restore "$work/backup" "$archive" "$data" --to-end > /dev/null
url=$("$pg" start "$work/pg")
"$backup_sh" wait "$url" 120 > /dev/null
rows=$(q "SELECT count(*) || ' ' || max(i) FROM t")
# The archive now holds timeline 2 too, which recovery follows (recovery_target_timeline
# 'latest'): rows 1-20 and the 21 written there.
[[ $rows == "21 21" ]] || fail "restored to the archive's end: $rows, not 21 rows"
echo "ok: restored to the archive's end (the latest timeline): $rows"

if ((failures > 0)); then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "pg-backup.sh: all checks passed"
