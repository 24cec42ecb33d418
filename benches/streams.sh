#!/usr/bin/env bash
# Streams: rsredis against redis-server on this machine, one run.
#
#   benches/streams.sh
#
# 1. Starts target/release/rsredis (built when cargo is available) and
#    redis-server, each on a free loopback port.
# 2. With redis-benchmark's arbitrary-command mode, at -P 1 and -P 16:
#      XADD bs * field value
#      XREADGROUP GROUP g c COUNT 1 STREAMS rb >   (over a pre-filled stream)
#      XACK rb g <random pending ID>
#    prints requests/second side by side with the ratio, and the server CPU
#    time per request (user + system) of both.
# 3. Loads a 1M-entry stream (XADD mem <i>-0 field <i>, through
#    `redis-cli --pipe`) into each and prints the resident memory growth.
# Both servers are stopped by PID on exit.
#
# Environment (all optional):
#   N            requests per test (default 200000)
#   ENTRIES      entries of the memory stream (default 1000000; 0 skips it)
#   ROUNDS       rounds, servers alternating first; medians shown (default 3)
#   CLIENTS      parallel connections (default 50)
#   RSREDIS_BIN  rsredis binary; when set, nothing is built
#   REDIS_SERVER redis-server binary (default: from PATH)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-200000}"
ENTRIES="${ENTRIES:-1000000}"
ROUNDS="${ROUNDS:-3}"
CLIENTS="${CLIENTS:-50}"
REDIS_SERVER="${REDIS_SERVER:-redis-server}"

# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
require_tools "$REDIS_SERVER" redis-benchmark redis-cli python3
resolve_rsredis

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rsredis-streams.XXXXXX")"
RS_PID=""
RD_PID=""

cleanup() {
    local pid
    for pid in "$RS_PID" "$RD_PID"; do
        if [[ -n "$pid" ]]; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

read -r RS_PORT RD_PORT < <(python3 - <<'EOF'
import socket
a = socket.socket(); a.bind(("127.0.0.1", 0))
b = socket.socket(); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])
EOF
)

start_servers() {
    rm -rf "$WORK/rsredis" "$WORK/redis"
    mkdir -p "$WORK/rsredis" "$WORK/redis"
    cat >"$WORK/rsredis/node.toml" <<EOF
port = $RS_PORT
bind = ["127.0.0.1"]
dir = "$WORK/rsredis"
loglevel = "warning"
save = ""
EOF
    "$RSREDIS_BIN" server --config "$WORK/rsredis/node.toml" >"$WORK/rsredis/log" 2>&1 &
    RS_PID=$!
    "$REDIS_SERVER" --port "$RD_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$WORK/redis" --daemonize no --logfile "$WORK/redis/log" >/dev/null 2>&1 &
    RD_PID=$!
    wait_ready "$RS_PORT" "$RS_PID" rsredis "$WORK/rsredis/log"
    wait_ready "$RD_PORT" "$RD_PID" redis-server "$WORK/redis/log"
}

stop_servers() {
    local pid
    for pid in "$RS_PID" "$RD_PID"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    RS_PID=""; RD_PID=""
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# A stream rb with N entries 1-0..N-0 and group g at 0: XREADGROUP delivers
# one new entry per call, XACK then finds most random IDs pending.
prefill() { # port
    redis-cli -p "$1" DEL rb bs >/dev/null
    python3 - "$N" <<'EOF' | redis-cli -p "$1" --pipe >/dev/null
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(1, n + 1):
    ms = str(i)
    out.write(f"*5\r\n$4\r\nXADD\r\n$2\r\nrb\r\n${len(ms) + 2}\r\n{ms}-0\r\n$1\r\nf\r\n$1\r\nv\r\n")
EOF
    redis-cli -p "$1" XGROUP CREATE rb g 0 >/dev/null
}

bench_one() { # name port pipeline label cmd...
    local name=$1 port=$2 p=$3 label=$4 pid c0 c1 rps
    shift 4
    if [[ "$name" == rsredis ]]; then pid="$RS_PID"; else pid="$RD_PID"; fi
    c0=$(cpu_ticks "$pid")
    rps=$(redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$N" -P "$p" -r "$N" --csv "$@" \
        2>/dev/null </dev/null | awk -F'"' 'NR==2 {print $4}')
    c1=$(cpu_ticks "$pid")
    echo "$label,$p,$name,${rps:-0},$((c1 - c0)),$N" >>"$WORK/results.csv"
    echo "    $name $label -P $p: ${rps:-failed} rps" >&2
}

bench_server() { # name port
    local name=$1 port=$2 p
    for p in 1 16; do
        redis-cli -p "$port" DEL bs >/dev/null
        bench_one "$name" "$port" "$p" XADD XADD bs '*' field value
        prefill "$port"
        bench_one "$name" "$port" "$p" XREADGROUP XREADGROUP GROUP g c COUNT 1 STREAMS rb '>'
        # __rand_int__ becomes a zero-padded number below N: ID <n>-0.
        bench_one "$name" "$port" "$p" XACK XACK rb g __rand_int__
    done
}

start_servers
echo "rsredis      $("$RSREDIS_BIN" --version) pid $RS_PID port $RS_PORT"
echo "redis-server $("$REDIS_SERVER" --version | awk '{print $3}') pid $RD_PID port $RD_PORT"
echo "cpus: $(nproc 2>/dev/null || echo '?')  clients: $CLIENTS  requests: $N  rounds: $ROUNDS"

for round in $(seq "$ROUNDS"); do
    echo "==> round $round" >&2
    if (( round % 2 )); then
        bench_server rsredis "$RS_PORT"; bench_server redis "$RD_PORT"
    else
        bench_server redis "$RD_PORT"; bench_server rsredis "$RS_PORT"
    fi
done

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
if (( ENTRIES > 0 )); then
    stop_servers
    start_servers
    for side in rsredis redis; do
        if [[ "$side" == rsredis ]]; then port=$RS_PORT; pid=$RS_PID; else port=$RD_PORT; pid=$RD_PID; fi
        before=$(rss_kb "$pid")
        python3 - "$ENTRIES" <<'EOF' | redis-cli -p "$port" --pipe >/dev/null
import sys
out = sys.stdout
for i in range(1, int(sys.argv[1]) + 1):
    ms, v = f"{i}-0", str(i)
    out.write(f"*5\r\n$4\r\nXADD\r\n$3\r\nmem\r\n${len(ms)}\r\n{ms}\r\n$5\r\nfield\r\n${len(v)}\r\n{v}\r\n")
EOF
        len=$(redis-cli -p "$port" XLEN mem)
        after=$(rss_kb "$pid")
        echo "mem,$side,$len,$((after - before))" >>"$WORK/results.csv"
    done
fi

python3 - "$WORK/results.csv" "$TICK_US" <<'EOF'
import sys
rows = [l.strip().split(",") for l in open(sys.argv[1])]
tick_us = float(sys.argv[2])
runs = {}
for r in rows:
    if r[0] == "mem":
        continue
    label, p, name, rps, ticks, n = r
    runs.setdefault((label, p, name), []).append((float(rps), int(ticks) * tick_us / int(n)))
med = lambda v: sorted(v)[len(v) // 2]
fmt = "{:<11} {:>3} {:>12} {:>12} {:>6} {:>10} {:>10} {:>9}"
print()
print(fmt.format("test", "P", "rsredis rps", "redis rps", "ratio", "rs us/req", "rd us/req", "cpu ratio"))
for label in ("XADD", "XREADGROUP", "XACK"):
    for p in ("1", "16"):
        a = runs.get((label, p, "rsredis"), [])
        b = runs.get((label, p, "redis"), [])
        if not a or not b:
            continue
        ra, rb = med([x[0] for x in a]), med([x[0] for x in b])
        ca, cb = med([x[1] for x in a]), med([x[1] for x in b])
        print(fmt.format(label, p, f"{ra:,.0f}", f"{rb:,.0f}", f"{ra / rb:.2f}" if rb else "n/a",
                         f"{ca:.2f}", f"{cb:.2f}", f"{cb / ca:.2f}" if ca else "n/a"))
mem = {r[1]: (r[2], int(r[3])) for r in rows if r[0] == "mem"}
if mem:
    print()
    for side in ("rsredis", "redis"):
        n, kb = mem[side]
        print(f"{side:<8} stream of {int(n):,} entries: RSS +{kb / 1024:.1f} MiB ({kb * 1024 / max(int(n), 1):.1f} B/entry)")
    if mem["redis"][1]:
        print(f"memory ratio rsredis/redis: {mem['rsredis'][1] / mem['redis'][1]:.2f}")
EOF
