#!/usr/bin/env bash
# Replication benchmark: rsredis -> rsredis next to redis -> redis.
#
#   benches/replication.sh
#
# 1. Full sync: a master holding $KEYS keys (SET key:<i> val:<i>, loaded with
#    `redis-cli --pipe`), then a fresh replica; time from REPLICAOF until the
#    replica's link is up and its DBSIZE matches.
# 2. Write throughput with 2 replicas attached:
#    redis-benchmark -t set -c $CLIENTS -n $N -P $PIPELINE against the master.
# 3. Replication lag under that load: master_repl_offset minus the first
#    replica's slave_repl_offset (replica read first, so an upper bound),
#    sampled every 100 ms (bytes; mean and max).
# Every server is stopped by PID on exit, whatever happens.
#
# Environment (all optional):
#   KEYS         keys for the full-sync test (default 1000000)
#   N            SET requests for the throughput/lag test (default 1000000)
#   PIPELINE     redis-benchmark -P (default 16)
#   CLIENTS      parallel connections (default 50)
#   RSREDIS_BIN  rsredis binary to use; when set, nothing is built
#   REDIS_SERVER redis-server binary (default: from PATH)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYS="${KEYS:-1000000}"
N="${N:-1000000}"
PIPELINE="${PIPELINE:-16}"
CLIENTS="${CLIENTS:-50}"
REDIS_SERVER="${REDIS_SERVER:-redis-server}"

# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
require_tools "$REDIS_SERVER" redis-benchmark redis-cli python3
resolve_rsredis

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rsredis-repl-bench.XXXXXX")"
PIDS=()
BG_PID=""

cleanup() {
    local pid
    [[ -n "$BG_PID" ]] && { kill "$BG_PID" 2>/dev/null || true; wait "$BG_PID" 2>/dev/null || true; }
    for pid in "${PIDS[@]}"; do
        kill -CONT "$pid" 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ready() { # port
    for _ in $(seq 200); do
        [[ "$(redis-cli -p "$1" PING 2>/dev/null)" == "PONG" ]] && return 0
        sleep 0.05
    done
    die "no server answering on port $1"
}

# start_node <rsredis|redis> <port>: starts a master with diskless sync and no delay.
start_node() {
    local kind=$1 port=$2 dir="$WORK/$1-$2"
    mkdir -p "$dir"
    if [[ $kind == rsredis ]]; then
        cat >"$dir/node.toml" <<EOF
port = $port
dir = "$dir"
loglevel = "warning"
repl-diskless-sync-delay = 0
EOF
        "$RSREDIS_BIN" server --config "$dir/node.toml" >"$dir/log" 2>&1 &
    else
        "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
            --daemonize no --logfile "$dir/log" --repl-diskless-sync-delay 0 >/dev/null 2>&1 &
    fi
    PIDS+=($!)
    wait_ready "$port"
}

info() { # port field
    redis-cli -p "$1" INFO replication | tr -d '\r' | sed -n "s/^$2://p"
}

now() { python3 -c 'import time; print(time.time())'; }

declare -A SYNC_S TPUT LAG_MEAN LAG_MAX

for kind in rsredis redis; do
    echo "==> $kind"
    m=$(free_port); start_node "$kind" "$m"
    python3 - "$KEYS" >"$WORK/load.txt" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    k, v = f"key:{i}", f"val:{i}"
    out.write(f"*3\r\n$3\r\nSET\r\n${len(k)}\r\n{k}\r\n${len(v)}\r\n{v}\r\n")
EOF
    redis-cli -p "$m" --pipe <"$WORK/load.txt" >/dev/null
    r1=$(free_port); start_node "$kind" "$r1"
    t0=$(now)
    redis-cli -p "$r1" REPLICAOF 127.0.0.1 "$m" >/dev/null
    until [[ "$(info "$r1" master_link_status)" == up && "$(redis-cli -p "$r1" DBSIZE)" == "$KEYS" ]]; do
        sleep 0.05
    done
    t1=$(now)
    SYNC_S[$kind]=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
    echo "    full sync of $KEYS keys: ${SYNC_S[$kind]} s"

    r2=$(free_port); start_node "$kind" "$r2"
    redis-cli -p "$r2" REPLICAOF 127.0.0.1 "$m" >/dev/null
    until [[ "$(info "$r2" master_link_status)" == up ]]; do sleep 0.05; done

    # Throughput and lag under the same load.
    redis-benchmark -p "$m" -t set -c "$CLIENTS" -n "$N" -P "$PIPELINE" -r 1000000 -q \
        >"$WORK/bench.txt" 2>&1 &
    BG_PID=$!
    : >"$WORK/lag.txt"
    while kill -0 "$BG_PID" 2>/dev/null; do
        # Replica first, then master: the difference is an upper bound of the lag.
        ro=$(info "$r1" slave_repl_offset); mo=$(info "$m" master_repl_offset)
        [[ -n "$mo" && -n "$ro" ]] && echo $((mo - ro)) >>"$WORK/lag.txt"
        sleep 0.1
    done
    wait "$BG_PID" || true
    BG_PID=""
    TPUT[$kind]=$(tr '\r' '\n' <"$WORK/bench.txt" | grep -o 'SET: [0-9.]*' | tail -1 | awk '{print $2}')
    read -r LAG_MEAN[$kind] LAG_MAX[$kind] < <(python3 -c "
import sys
v=[int(x) for x in open('$WORK/lag.txt') if x.strip()]
print(int(sum(v)/len(v)) if v else 0, max(v) if v else 0)")
    echo "    SET with 2 replicas: ${TPUT[$kind]} req/s; lag mean ${LAG_MEAN[$kind]} B, max ${LAG_MAX[$kind]} B"
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
done

echo
printf '%-40s %14s %14s\n' "" rsredis redis
printf '%-40s %14s %14s\n' "full sync, $KEYS keys (s)" "${SYNC_S[rsredis]}" "${SYNC_S[redis]}"
printf '%-40s %14s %14s\n' "SET -P $PIPELINE, 2 replicas (req/s)" "${TPUT[rsredis]}" "${TPUT[redis]}"
printf '%-40s %14s %14s\n' "replication lag mean (bytes)" "${LAG_MEAN[rsredis]}" "${LAG_MEAN[redis]}"
printf '%-40s %14s %14s\n' "replication lag max (bytes)" "${LAG_MAX[rsredis]}" "${LAG_MAX[redis]}"
