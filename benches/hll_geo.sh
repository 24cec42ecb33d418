#!/usr/bin/env bash
# HyperLogLog and geo: rsredis against redis-server on this machine, one run.
#
#   benches/hll_geo.sh
#
# 1. Starts target/release/rsredis (built when cargo is available) and
#    redis-server, each on a free loopback port.
# 2. With redis-benchmark's arbitrary-command mode, at -P 1 and -P 16:
#      PFADD hll <random element>      (one HLL, grows sparse -> dense)
#      PFCOUNT hll                     (the cached cardinality after the first)
#      PFCOUNT hll hll2 hll3           (multi-key: a register union per call)
#      GEOSEARCH geo FROMLONLAT 13 38 BYRADIUS 5 km COUNT 10 ASC
#                                      (a geo set of GEO members)
#    prints requests/second side by side with the ratio, and the server CPU
#    time per request (user + system) of both.
# 3. Loads a 1M-member geo set (GEOADD through `redis-cli --pipe`) into each
#    and prints the resident memory growth.
# Both servers are stopped by PID on exit.
#
# Environment (all optional):
#   N            requests per test (default 200000)
#   GEO          members of the geo set searched (default 100000)
#   MEMBERS      members of the memory geo set (default 1000000; 0 skips it)
#   ROUNDS       rounds, servers alternating first; medians shown (default 3)
#   CLIENTS      parallel connections (default 50)
#   RSREDIS_BIN  rsredis binary; when set, nothing is built
#   REDIS_SERVER redis-server binary (default: from PATH)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-200000}"
GEO="${GEO:-100000}"
MEMBERS="${MEMBERS:-1000000}"
ROUNDS="${ROUNDS:-3}"
CLIENTS="${CLIENTS:-50}"
REDIS_SERVER="${REDIS_SERVER:-redis-server}"

# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
require_tools "$REDIS_SERVER" redis-benchmark redis-cli python3
resolve_rsredis

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rsredis-hllgeo.XXXXXX")"
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

# GEOADD of n members spread over a 2x2 degree square around (13, 38).
geo_fill() { # port key n
    python3 - "$3" "$2" <<'EOF' | redis-cli -p "$1" --pipe >/dev/null
import sys, random
n, key = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(7)
out = sys.stdout
for i in range(n):
    lon, lat = f"{12 + rnd.random() * 2:.6f}", f"{37 + rnd.random() * 2:.6f}"
    m = f"m{i}"
    out.write(f"*5\r\n$6\r\nGEOADD\r\n${len(key)}\r\n{key}\r\n${len(lon)}\r\n{lon}\r\n${len(lat)}\r\n{lat}\r\n${len(m)}\r\n{m}\r\n")
EOF
}

bench_one() { # name port pipeline label cmd...
    local name=$1 port=$2 p=$3 label=$4 pid c0 c1 rps
    shift 4
    if [[ "$name" == rsredis ]]; then pid="$RS_PID"; else pid="$RD_PID"; fi
    c0=$(cpu_ticks "$pid")
    rps=$(redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$N" -P "$p" -r 1000000000 --csv "$@" \
        2>/dev/null </dev/null | awk -F'"' 'NR==2 {print $4}')
    c1=$(cpu_ticks "$pid")
    echo "$label,$p,$name,${rps:-0},$((c1 - c0)),$N" >>"$WORK/results.csv"
    echo "    $name $label -P $p: ${rps:-failed} rps" >&2
}

bench_server() { # name port
    local name=$1 port=$2 p
    redis-cli -p "$port" DEL hll2 hll3 >/dev/null
    redis-benchmark -h 127.0.0.1 -p "$port" -c 10 -n 20000 -r 1000000 PFADD hll2 __rand_int__ >/dev/null 2>&1 </dev/null
    redis-benchmark -h 127.0.0.1 -p "$port" -c 10 -n 2000 -r 1000000 PFADD hll3 __rand_int__ >/dev/null 2>&1 </dev/null
    if [[ "$(redis-cli -p "$port" EXISTS geo)" != 1 ]]; then geo_fill "$port" geo "$GEO"; fi
    for p in 1 16; do
        redis-cli -p "$port" DEL hll >/dev/null
        bench_one "$name" "$port" "$p" PFADD PFADD hll __rand_int__
        bench_one "$name" "$port" "$p" PFCOUNT PFCOUNT hll
        bench_one "$name" "$port" "$p" PFCOUNT3 PFCOUNT hll hll2 hll3
        bench_one "$name" "$port" "$p" GEOSEARCH GEOSEARCH geo FROMLONLAT 13 38 BYRADIUS 5 km COUNT 10 ASC
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
if (( MEMBERS > 0 )); then
    stop_servers
    start_servers
    for side in rsredis redis; do
        if [[ "$side" == rsredis ]]; then port=$RS_PORT; pid=$RS_PID; else port=$RD_PORT; pid=$RD_PID; fi
        before=$(rss_kb "$pid")
        geo_fill "$port" mem "$MEMBERS"
        len=$(redis-cli -p "$port" ZCARD mem)
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
for label in ("PFADD", "PFCOUNT", "PFCOUNT3", "GEOSEARCH"):
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
        print(f"{side:<8} geo set of {int(n):,} members: RSS +{kb / 1024:.1f} MiB ({kb * 1024 / max(int(n), 1):.1f} B/member)")
    if mem["redis"][1]:
        print(f"memory ratio rsredis/redis: {mem['rsredis'][1] / mem['redis'][1]:.2f}")
EOF
