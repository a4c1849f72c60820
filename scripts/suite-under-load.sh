#!/usr/bin/env bash
# Runs the test suite beside heavy I/O and CPU load, as on a busy shared machine: a PostgreSQL
# cluster of its own under `pgbench` (writes, fsync on), and CPU hogs, one per core by default.
# The suite must pass there too: its waits are bounded and scaled, never tuned to a quiet box.
#
# Usage: scripts/suite-under-load.sh [--hogs N] [--pgbench-clients N] [-- SWIFT-TEST-ARGS…]
# Prints the suite's last line, its time, and the load average it ran under. Everything it
# starts (the cluster, pgbench, the hogs) is stopped at the end, also when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

hogs=$(nproc)
clients=4
while [ $# -gt 0 ]; do
    case "$1" in
        --hogs) hogs=$2; shift 2 ;;
        --pgbench-clients) clients=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "unknown option $1; see --help" >&2; exit 2 ;;
    esac
done

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/pgbench" ] || { echo "pgbench is not installed (Debian: apt-get install postgresql)" >&2; exit 2; }

work=$(mktemp -d /tmp/allot-load.XXXXXX)
as_server=()
user=$(id -un)
if [ "$(id -u)" = 0 ]; then
    chown postgres "$work"
    as_server=(runuser -u postgres --)
    user=postgres
fi
pids=()
here=$PWD
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    # Children a crashed test process left running.
    pkill -f "$here/.build/.*/(allot|LedgerCrashWriter) " >/dev/null 2>&1 || true
    wait 2>/dev/null || true
    "${as_server[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_server[@]}" "$bin/initdb" -D "$work/data" -U "$user" -A trust >/dev/null
"${as_server[@]}" "$bin/pg_ctl" -D "$work/data" -l "$work/log" -w -t 60 \
    -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=400" start >/dev/null
url="postgres://$user@127.0.0.1:$port/postgres"

# The load: pgbench writing with fsync on, and CPU hogs.
"${as_server[@]}" "$bin/pgbench" -i -s 20 -h 127.0.0.1 -p "$port" -U "$user" postgres >/dev/null 2>&1
"${as_server[@]}" "$bin/pgbench" -c "$clients" -j 2 -T 3600 -h 127.0.0.1 -p "$port" -U "$user" postgres >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 "$hogs"); do
    ( while :; do :; done ) &
    pids+=($!)
done

# A busy machine gets the patience the suite's one setting gives (TestDeadlines): three times
# every wait's bound unless told otherwise. Bounds that are the behaviour under test stay.
export ALLOT_TEST_TIME_SCALE=${ALLOT_TEST_TIME_SCALE:-3}
# The suite's own ledgers use the same loaded server, as CI's do theirs.
export ALLOT_TEST_POSTGRES_URL=$url
start=$(date +%s)
status=0
swift test "$@" > "$work/suite.log" 2>&1 || status=$?
end=$(date +%s)
grep -E "✘ Test .* recorded an issue" "$work/suite.log" | head -20 || true
tail -1 "$work/suite.log"
echo "suite: exit $status after $((end - start)) s beside pgbench ($clients clients) and $hogs CPU hogs, ALLOT_TEST_TIME_SCALE=$ALLOT_TEST_TIME_SCALE; load average $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
