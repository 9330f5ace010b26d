#!/usr/bin/env bash
# Backups of the distributed shape's event store with PostgreSQL 15's own tools: continuous WAL
# archiving, base backups (pg_basebackup, checked with pg_verifybackup) and point-in-time
# restore (recovery.signal, restore_command, recovery_target_time). docs/operations.md ("Back up",
# "Restore to a point in time", "After a restore") is the runbook around it.
#
#   pg-backup.sh archive-on URL ARCHIVE       continuous WAL archiving into ARCHIVE (a directory
#                                             on the server's machine); restart the server after
#   pg-backup.sh base URL BACKUP              a base backup of the whole cluster into BACKUP (new)
#   pg-backup.sh verify BACKUP                checks BACKUP against its manifest (pg_verifybackup)
#   pg-backup.sh switch-wal URL ARCHIVE       closes the WAL segment in use, so that everything
#                                             committed until now reaches ARCHIVE; waits for it
#   pg-backup.sh restore BACKUP ARCHIVE PGDATA (--to-time T | --to-end)
#                                             prepares PGDATA (absent or empty) to replay the
#                                             archive up to T (RFC 3339) or to its end, then
#                                             promote; start the server on PGDATA after
#   pg-backup.sh wait URL [SECONDS]           waits until the restored server has finished its
#                                             recovery and accepts writes; prints where it stopped
#
# Checks before anything is written (each a clear error, exit 1; usage errors exit 2): a backup
# that fails pg_verifybackup; a target time before the base backup ended (PostgreSQL cannot stop
# before the backup is consistent); a WAL archive that lacks a segment between the backup's start
# and its last segment; a target after the archive's last commit (PostgreSQL would replay all of
# it and stop without reaching T); a non-empty PGDATA.
#
# As root, the PostgreSQL programs and file copies run as the owner of the cluster's files (the
# `postgres` user of Debian's packages), as scripts/servers/postgres.sh does.
set -euo pipefail
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
info_file=adsd-backup.info # BACKUP/adsd-backup.info: when and from where the backup was taken

usage() {
  sed -n '8,21p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "pg-backup: $*" >&2
  exit 1
}

# The user owning `path` (a cluster's files), and a command run as that user when we are root.
owner_of() { stat -c %U "$1"; }
as_user() {
  local user=$1
  shift
  if [[ $(id -u) -eq 0 && $user != root ]]; then runuser -u "$user" -- "$@"; else "$@"; fi
}
server_user() { if [[ $(id -u) -eq 0 ]] && id postgres > /dev/null 2>&1; then echo postgres; else id -un; fi; }

psql_at() { "$bin/psql" -X -q -v ON_ERROR_STOP=1 -At -d "$1" -c "$2"; }

# Paths end up inside archive_command and restore_command (run by the server's shell): keep them
# to characters that need no quoting.
check_path() {
  [[ $2 =~ ^/[A-Za-z0-9/._+-]+$ ]] || die "$1 must be an absolute path of letters, digits and /._+- (got '$2')"
}

# RFC 3339 ("2026-12-07T23:24:03.123456Z", "2026-12-07 23:24:03+01:00") -> UTC with microseconds.
utc_time() {
  local t=$1
  [[ $t =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt\ ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:?[0-9]{2})$ ]] ||
    die "the target time must be RFC 3339 with a zone, e.g. 2026-12-07T23:24:03.5Z (got '$t')"
  date -u -d "$t" +'%Y-%m-%d %H:%M:%S.%6N+00' 2> /dev/null || die "the target time '$t' is not a valid time"
}
# Microseconds since the epoch of a time `date` reads.
epoch_us() { date -u -d "$1" +%s%6N; }

# A WAL segment file name's number (log * segments per log + segment), and the file's timeline.
seg_number() { echo $(((16#${1:8:8}) * $2 + (16#${1:16:8}))); }
seg_tli() { echo $((16#${1:0:8})); }

# Segments of `archive` from the backup's start on, one per number (the highest timeline's), in
# order: "NUMBER FILE" lines. Fails naming the first number missing between start and the last.
archived_segments() { # ARCHIVE START_FILE SEGS_PER_LOG
  local archive=$1 start=$2 per=$3 f n tli
  local -A best=() best_tli=()
  local first
  first=$(seg_number "$start" "$per")
  for f in "$archive"/*; do
    f=${f##*/}
    [[ $f =~ ^[0-9A-F]{24}$ ]] || continue # .history, .backup, .partial and temporaries are not segments
    n=$(seg_number "$f" "$per")
    ((n >= first)) || continue
    tli=$(seg_tli "$f")
    if [[ -z ${best[$n]:-} ]] || ((tli > best_tli[$n])); then
      best[$n]=$f
      best_tli[$n]=$tli
    fi
  done
  [[ -n ${best[$first]:-} ]] ||
    die "the WAL archive $archive lacks $start, the segment the base backup starts in: it cannot be restored from this archive (was archiving on when the backup was taken? is this the right archive?)"
  local last=$first
  for n in "${!best[@]}"; do ((n > last)) && last=$n; done
  for ((n = first; n <= last; n++)); do
    [[ -n ${best[$n]:-} ]] ||
      die "the WAL archive $archive has a gap: no segment number $n ($(printf '%08X%08X' $((n / per)) $((n % per))) on any timeline) between the backup's start $start and the archive's last segment ${best[$last]}: recovery would stop there"
    echo "$n ${best[$n]}"
  done
}

# The time of the last commit in the archive's segments (listed by archived_segments), as
# pg_waldump prints it ("2026-12-07 23:24:03.123456 UTC"), scanning from the last segment back;
# empty if none has a commit.
last_commit_time() { # ARCHIVE SEGMENT_LINES
  local archive=$1 lines=$2 f t
  local -a files
  mapfile -t files < <(awk '{print $2}' <<< "$lines")
  for ((i = ${#files[@]} - 1; i >= 0; i--)); do
    f=${files[$i]}
    # pg_waldump reads up to the end of the valid WAL and then complains: its records count.
    t=$(TZ=UTC "$bin/pg_waldump" -r Transaction "$archive/$f" 2> /dev/null |
      sed -n 's/.*desc: COMMIT \([0-9-]* [0-9:.]* [A-Z+0-9-]*\).*/\1/p' | tail -n 1 || true)
    if [[ -n $t ]]; then
      echo "$t"
      return
    fi
  done
}

# When the base backup ended: the server's clock read right after pg_basebackup returned (the
# history file the server archives says it only to the second).
backup_end_time() { sed -n 's/^finished_at=//p' "$1/$info_file"; }

cmd=${1:-}
[[ -n $cmd ]] || usage
shift

case $cmd in
  archive-on)
    [[ $# -eq 2 ]] || usage
    url=$1
    archive=$2
    check_path ARCHIVE "$archive"
    mkdir -p "$archive"
    # The server writes into it as the user owning its data directory.
    datadir=$(psql_at "$url" "SHOW data_directory") || die "cannot reach the server at $url"
    if [[ $(id -u) -eq 0 && -d $datadir ]]; then chown "$(owner_of "$datadir")" "$archive"; fi
    # A segment is archived once: an existing file with the same bytes is success (a retry after
    # a crash between the copy and the server's note), different bytes an error (another
    # cluster's archive). The copy is synced before it takes its name.
    archive_command="f=$archive/%f; if [ -f \$f ]; then cmp -s %p \$f; else cp %p \$f.tmp && sync \$f.tmp && mv \$f.tmp \$f && sync $archive; fi"
    psql_at "$url" "ALTER SYSTEM SET wal_level = 'replica'"
    psql_at "$url" "ALTER SYSTEM SET archive_mode = 'on'"
    psql_at "$url" "ALTER SYSTEM SET archive_command = '${archive_command//\'/\'\'}'"
    # A segment is closed and archived at least once a minute while anything is written, so the
    # archive is never more than a minute behind (what a lost server can cost).
    psql_at "$url" "ALTER SYSTEM SET archive_timeout = '60s'"
    psql_at "$url" "SELECT pg_reload_conf()" > /dev/null
    if [[ $(psql_at "$url" "SHOW archive_mode") != on ]]; then
      echo "WAL archiving into $archive is configured; restart the server to turn it on (archive_mode needs a restart)"
    else
      echo "WAL archiving into $archive is on"
    fi
    ;;

  base)
    [[ $# -eq 2 ]] || usage
    url=$1
    backup=$2
    [[ ! -e $backup ]] || die "$backup exists: a base backup goes into a new directory"
    [[ $(psql_at "$url" "SHOW archive_mode") == on ]] ||
      die "WAL archiving is off on $url: a base backup alone restores only to its own end (pg-backup.sh archive-on, then restart the server)"
    mkdir -p "$backup"
    user=$(server_user)
    [[ $(id -u) -eq 0 ]] && chown "$user" "$backup"
    # Plain format, with the WAL written during the backup (-X stream) so that the copy is
    # consistent on its own; a fast checkpoint rather than a spread one that takes minutes.
    if ! as_user "$user" "$bin/pg_basebackup" -d "$url" -D "$backup/data" -Fp -X stream --checkpoint=fast \
      --manifest-checksums=SHA256 -l "adsd base backup $(date -u +%FT%TZ)" 2> "$backup/pg_basebackup.log"; then
      cat "$backup/pg_basebackup.log" >&2
      die "pg_basebackup failed; $backup is incomplete: remove it"
    fi
    finished=$(psql_at "$url" "SELECT now()")
    printf 'url=%s\nfinished_at=%s\n' "${url%%\?*}" "$finished" > "$backup/$info_file"
    as_user "$user" "$bin/pg_verifybackup" -q "$backup/data" ||
      die "the new backup in $backup does not verify: remove it and take another"
    echo "base backup in $backup (finished $finished)"
    ;;

  verify)
    [[ $# -eq 1 ]] || usage
    backup=$1
    [[ -f $backup/data/backup_manifest ]] || die "$backup is not a base backup of this script (no data/backup_manifest)"
    as_user "$(owner_of "$backup/data")" "$bin/pg_verifybackup" -q "$backup/data" ||
      die "$backup is damaged (pg_verifybackup above)"
    echo "$backup verifies"
    ;;

  switch-wal)
    [[ $# -eq 2 ]] || usage
    url=$1
    archive=$2
    # The segment that holds the last commit is closed; the archiver copies it within moments.
    # (With nothing written since the last switch, the last segment is already archived.)
    wal=$(psql_at "$url" "SELECT pg_walfile_name(pg_switch_wal())") || die "cannot reach the server at $url"
    for _ in $(seq 600); do
      [[ -f $archive/$wal ]] && break
      failed=$(psql_at "$url" "SELECT coalesce(last_failed_wal, '') FROM pg_stat_archiver")
      [[ $failed == "$wal" ]] && die "archiving $wal fails (pg_stat_archiver.last_failed_wal): see the server's log"
      sleep 0.1
    done
    [[ -f $archive/$wal ]] || die "$wal did not reach $archive within a minute (see pg_stat_archiver and the server's log)"
    echo "archived through $wal"
    ;;

  restore)
    [[ $# -ge 4 ]] || usage
    backup=$1
    archive=$2
    pgdata=$3
    shift 3
    target=""
    case $1 in
      --to-time)
        [[ $# -eq 2 ]] || usage
        target=$(utc_time "$2")
        ;;
      --to-end) [[ $# -eq 1 ]] || usage ;;
      *) usage ;;
    esac
    check_path ARCHIVE "$archive"
    [[ -f $backup/data/backup_label && -f $backup/$info_file ]] ||
      die "$backup is not a complete base backup of this script (no data/backup_label or $info_file)"
    [[ -d $archive ]] || die "the WAL archive $archive does not exist"
    if [[ -e $pgdata ]] && [[ -n $(ls -A "$pgdata" 2> /dev/null) ]]; then
      die "$pgdata is not empty: move the cluster that is there aside first (it is what you may need if this restore goes wrong)"
    fi
    user=$(owner_of "$backup/data")
    as_user "$user" "$bin/pg_verifybackup" -q -n "$backup/data" ||
      die "$backup is damaged (pg_verifybackup above): restore from another base backup"
    per=$(((1 << 32) / $(LC_ALL=C "$bin/pg_controldata" "$backup/data" | sed -n 's/^Bytes per WAL segment: *//p')))
    start=$(sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]*\))$/\1/p' "$backup/data/backup_label")
    segments=$(archived_segments "$archive" "$start" "$per")
    if [[ -n $target ]]; then
      stop=$(backup_end_time "$backup")
      if (($(epoch_us "$target") < $(epoch_us "$stop"))); then
        die "$2 is before the base backup in $backup ended ($stop): PostgreSQL can only restore it to a time after that; use an older base backup"
      fi
      last=$(last_commit_time "$archive" "$segments")
      [[ -n $last ]] || die "the WAL archive $archive holds no commit after the base backup's start: nothing to restore up to $2"
      if (($(epoch_us "$target") >= $(epoch_us "$last"))); then
        die "the WAL archive $archive ends before $2: its last commit is at $last, so PostgreSQL would replay all of it without reaching the target. If the server still runs, archive its current WAL first (pg-backup.sh switch-wal URL ARCHIVE); to restore everything archived, use --to-end"
      fi
    fi
    mkdir -p "$pgdata"
    [[ $(id -u) -eq 0 ]] && chown "$user" "$pgdata"
    chmod 700 "$pgdata"
    as_user "$user" cp -a "$backup/data/." "$pgdata/"
    # Replay from the archive, then promote: a new timeline starts at the target, and the
    # archive keeps both histories apart.
    {
      echo "# pg-backup.sh restore, $(date -u +%FT%TZ): replaying $archive${target:+ up to $target}"
      echo "restore_command = 'cp $archive/%f %p'"
      if [[ -n $target ]]; then
        echo "recovery_target_time = '$target'"
        echo "recovery_target_action = 'promote'"
      fi
    } | as_user "$user" tee -a "$pgdata/postgresql.auto.conf" > /dev/null
    as_user "$user" touch "$pgdata/recovery.signal"
    rm -f "$pgdata/$info_file" "$pgdata/pg_basebackup.log"
    echo "restore prepared in $pgdata: start the server on it; it replays $archive${target:+ up to $target} and promotes itself (pg-backup.sh wait URL)"
    ;;

  wait)
    [[ $# -ge 1 && $# -le 2 ]] || usage
    url=$1
    seconds=${2:-300}
    for ((i = 0; i < seconds * 10; i++)); do
      if state=$(psql_at "$url" "SELECT pg_is_in_recovery()" 2> /dev/null) && [[ $state == f ]]; then
        tli=$(psql_at "$url" "SELECT timeline_id FROM pg_control_checkpoint()")
        replayed=$(psql_at "$url" "SELECT coalesce(pg_last_xact_replay_timestamp()::text, 'nothing replayed')")
        echo "recovered: accepting writes on timeline $tli; last transaction replayed committed at $replayed"
        exit 0
      fi
      sleep 0.1
    done
    die "the server at $url has not finished its recovery within ${seconds}s (see its log: a target it cannot reach stops it)"
    ;;

  *) usage ;;
esac
