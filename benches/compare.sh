#!/usr/bin/env bash
# Side-by-side load comparison of rsredis and redis-server on this machine.
#
#   benches/compare.sh
#
# 1. Starts target/release/rsredis (built with `cargo build --release` when
#    cargo is available) and redis-server, each on a free loopback port.
# 2. Runs the same redis-benchmark workloads against both:
#      -t $TESTS -c $CLIENTS -n $N_P1  -P 1
#      -t $TESTS -c $CLIENTS -n $N_P16 -P 16
#    and prints requests/second side by side.
# 3. Loads $KEYS keys (SET key:<i> val:<i>) into each through `redis-cli --pipe`
#    and prints the resident memory (VmRSS) of both processes.
# Both servers are stopped by PID on exit, whatever happens.
#
# Environment (all optional):
#   N            requests per test for both pipeline depths (overrides the two below)
#   N_P1         requests per test with -P 1   (default 200000)
#   N_P16        requests per test with -P 16  (default 1000000)
#   KEYS         keys loaded for the memory comparison (default 1000000; 0 skips it)
#   COLLECTIONS  1 (default) also compares RSS for a 1M-field hash, 1M-member set and
#                zset, and 100k small hashes, each in a fresh pair of servers; 0 skips
#   ROUNDS       benchmark rounds, servers alternating first; medians are shown (default 3)
#   CLIENTS      parallel connections (default 50)
#   TESTS        redis-benchmark -t list (default set,get,incr,mset)
#   RSREDIS_BIN  rsredis binary to use; when set, nothing is built
#   REDIS_SERVER redis-server binary (default: from PATH)
#
# Needs only redis-server, redis-benchmark, redis-cli and python3 (plus cargo
# to build rsredis when RSREDIS_BIN is not given).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N_P1="${N:-${N_P1:-200000}}"
N_P16="${N:-${N_P16:-1000000}}"
KEYS="${KEYS:-1000000}"
ROUNDS="${ROUNDS:-3}"
COLLECTIONS="${COLLECTIONS:-1}"
CLIENTS="${CLIENTS:-50}"
TESTS="${TESTS:-set,get,incr,mset}"
REDIS_SERVER="${REDIS_SERVER:-redis-server}"

# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
require_tools "$REDIS_SERVER" redis-benchmark redis-cli python3
resolve_rsredis

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rsredis-compare.XXXXXX")"
RS_PID=""
RD_PID=""
BG_PID=""

# Run a long command in the background and wait for it, so that a signal to
# this script runs the cleanup trap at once instead of after the command ends.
run() {
    "$@" <&0 &
    BG_PID=$!
    local rc=0
    wait "$BG_PID" || rc=$?
    BG_PID=""
    return "$rc"
}

cleanup() {
    local pid
    if [[ -n "$BG_PID" ]]; then
        kill "$BG_PID" 2>/dev/null || true
        wait "$BG_PID" 2>/dev/null || true
    fi
    for pid in "$RS_PID" "$RD_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
        fi
    done
    for pid in "$RS_PID" "$RD_PID"; do
        if [[ -n "$pid" ]]; then
            # Give each server up to 5 s to exit, then force it.
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

# Two distinct free loopback ports (both sockets are held while picking).
read -r RS_PORT RD_PORT < <(python3 - <<'EOF'
import socket
a = socket.socket(); a.bind(("127.0.0.1", 0))
b = socket.socket(); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])
EOF
)

start_servers() {
mkdir -p "$WORK/rsredis" "$WORK/redis"
cat >"$WORK/rsredis/node.toml" <<EOF
port = $RS_PORT
bind = ["127.0.0.1"]
dir = "$WORK/rsredis"
loglevel = "warning"
# As redis-server below (--save ''): no dump on shutdown, so each "fresh"
# server really starts empty instead of loading the previous data set.
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

start_servers

echo "rsredis      $("$RSREDIS_BIN" --version) pid $RS_PID port $RS_PORT"
echo "redis-server $("$REDIS_SERVER" --version | awk '{print $3}') pid $RD_PID port $RD_PORT"
echo "cpus: $(nproc 2>/dev/null || echo '?')  clients: $CLIENTS  tests: $TESTS"
echo

TIMEOUT=()
command -v timeout >/dev/null 2>&1 && TIMEOUT=(timeout 600)

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

bench() { # name port pipeline n
    # One redis-benchmark run per test: a server that refuses one command
    # (redis-benchmark stops at the first error reply) still gets the others measured.
    local out="$WORK/bench-$1-P$3.csv" err="$WORK/bench-$1-P$3.err" t c0 c1 pid
    if [[ "$1" == rsredis ]]; then pid="$RS_PID"; else pid="$RD_PID"; fi
    for t in ${TESTS//,/ }; do
        echo "==> redis-benchmark $1 -t $t -c $CLIENTS -n $4 -P $3" >&2
        c0=$(cpu_ticks "$pid")
        if ! run "${TIMEOUT[@]}" redis-benchmark -h 127.0.0.1 -p "$2" -t "$t" -c "$CLIENTS" \
            -n "$4" -P "$3" --csv </dev/null >>"$out" 2>"$err"; then
            echo "    failed: $(grep -v '^WARNING' "$err" | tail -n 1)" >&2
        fi
        c1=$(cpu_ticks "$pid")
        # Server CPU spent on this run: the per-core cost of a request.
        echo "$t,$((c1 - c0)),$4" >>"$WORK/cpu-$1-P$3.csv"
    done
}

# Several rounds, alternating which server goes first, reported as medians:
# on a 2-core box a single run swings by 20% or more.
for round in $(seq "$ROUNDS"); do
    for P in 1 16; do
        if [[ "$P" == 1 ]]; then n="$N_P1"; else n="$N_P16"; fi
        if (( round % 2 )); then
            bench rsredis "$RS_PORT" "$P" "$n"
            bench redis "$RD_PORT" "$P" "$n"
        else
            bench redis "$RD_PORT" "$P" "$n"
            bench rsredis "$RS_PORT" "$P" "$n"
        fi
    done
done

echo
python3 - "$WORK" "$TICK_US" <<'EOF'
import csv, os, sys
work = sys.argv[1]

def load(name, p):
    path = os.path.join(work, f"bench-{name}-P{p}.csv")
    rows = {}
    try:
        with open(path, newline="") as f:
            for row in csv.reader(f):
                if len(row) >= 2 and row[0] != "test":
                    try:
                        rows.setdefault(row[0], []).append(float(row[1]))
                    except ValueError:
                        pass
    except OSError:
        pass
    return {t: sorted(v)[len(v) // 2] for t, v in rows.items()}

fmt = "{:<16} {:>3} {:>14} {:>14} {:>7}"
print(fmt.format("test", "P", "rsredis rps", "redis rps", "ratio"))
print(fmt.format("-" * 16, "-" * 3, "-" * 14, "-" * 14, "-" * 7))
for p in (1, 16):
    ours, theirs = load("rsredis", p), load("redis", p)
    for test in list(theirs) + [t for t in ours if t not in theirs]:
        a, b = ours.get(test), theirs.get(test)
        ratio = f"{a / b:.2f}" if a and b else "n/a"
        print(fmt.format(test, p,
                         f"{a:,.0f}" if a else "n/a",
                         f"{b:,.0f}" if b else "n/a", ratio))

# Per-core efficiency: server CPU time per request (user + system), medians.
# On a 2-core machine redis-benchmark itself needs about one core, so raw
# requests/second are capped by the load generator; CPU per request is what
# "throughput per core" means.
tick_us = float(sys.argv[2])
def cpu(name, p):
    per = {}
    try:
        with open(os.path.join(work, f"cpu-{name}-P{p}.csv")) as f:
            for line in f:
                t, ticks, n = line.strip().split(",")
                per.setdefault(t.upper(), []).append(int(ticks) * tick_us / int(n))
    except OSError:
        pass
    return {t: sorted(v)[len(v) // 2] for t, v in per.items()}

print()
fmt2 = "{:<16} {:>3} {:>16} {:>16} {:>14}"
print(fmt2.format("test", "P", "rsredis us/req", "redis us/req", "per-core ratio"))
print(fmt2.format("-" * 16, "-" * 3, "-" * 16, "-" * 16, "-" * 14))
for p in (1, 16):
    ours, theirs = cpu("rsredis", p), cpu("redis", p)
    for t in theirs:
        a, b = ours.get(t), theirs.get(t)
        ratio = f"{b / a:.2f}" if a and b else "n/a"
        print(fmt2.format(t, p, f"{a:.3f}" if a else "n/a", f"{b:.3f}" if b else "n/a", ratio))
EOF

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

if [[ "$KEYS" -gt 0 ]]; then
    echo
    echo "==> loading $KEYS keys (SET key:<i> val:<i>) into each server" >&2
    run python3 - "$KEYS" >"$WORK/load.resp" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
chunk = []
for i in range(n):
    k = b"key:%d" % i
    v = b"val:%d" % i
    chunk.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    if len(chunk) == 10000:
        out.write(b"".join(chunk)); chunk.clear()
out.write(b"".join(chunk))
EOF
    # The benchmark's own keys are not part of the measurement.
    redis-cli -p "$RS_PORT" FLUSHALL >/dev/null 2>&1 || true
    redis-cli -p "$RD_PORT" FLUSHALL >/dev/null 2>&1 || true
    sleep 1
    RS_BEFORE=$(rss_kb "$RS_PID"); RD_BEFORE=$(rss_kb "$RD_PID")
    for target in "rsredis:$RS_PORT" "redis:$RD_PORT"; do
        name="${target%%:*}"; port="${target##*:}"
        if ! run "${TIMEOUT[@]}" redis-cli -p "$port" --pipe <"$WORK/load.resp" >"$WORK/pipe-$name.out" 2>&1; then
            echo "    (redis-cli --pipe into $name failed)" >&2
        fi
        grep -q "errors: 0, replies: $KEYS" "$WORK/pipe-$name.out" \
            || { echo "    $name: $(tail -n 1 "$WORK/pipe-$name.out")" >&2; }
    done
    sleep 2
    RS_AFTER=$(rss_kb "$RS_PID"); RD_AFTER=$(rss_kb "$RD_PID")
    dbsize() { redis-cli -p "$1" DBSIZE 2>/dev/null | grep -E '^[0-9]+$' || echo "?"; }
    python3 - "$KEYS" "$RS_BEFORE" "$RS_AFTER" "$RD_BEFORE" "$RD_AFTER" \
        "$(dbsize "$RS_PORT")" "$(dbsize "$RD_PORT")" <<'EOF'
import sys
keys = int(sys.argv[1])
rb, ra, db, da = (int(x or 0) for x in sys.argv[2:6])
rs_n, rd_n = sys.argv[6], sys.argv[7]
def mb(kb): return f"{kb / 1024:,.1f} MB"
def per_key(before, after): return f"{(after - before) * 1024 / keys:,.0f} B" if keys else "n/a"
fmt = "{:<8} {:>10} {:>14} {:>14} {:>10}"
print(fmt.format("server", "keys", "RSS before", "RSS after", "per key"))
print(fmt.format("-" * 8, "-" * 10, "-" * 14, "-" * 14, "-" * 10))
print(fmt.format("rsredis", rs_n, mb(rb), mb(ra), per_key(rb, ra)))
print(fmt.format("redis", rd_n, mb(db), mb(da), per_key(db, da)))
print(f"RSS ratio (rsredis / redis) after loading {keys:,} keys: "
      + (f"{ra / da:.2f}" if da else "n/a"))
EOF
fi

# Collections: each data set is loaded into a fresh pair of servers, so no
# allocator state from an earlier load is measured.
if [[ "$COLLECTIONS" == 1 ]]; then
    echo
    printf '%-22s %14s %14s %7s\n' "data set" "rsredis RSS" "redis RSS" "ratio"
    printf '%-22s %14s %14s %7s\n' "----------------------" "--------------" "--------------" "-------"
    for case in hash-1m-fields set-1m-members zset-1m-members hashes-100k-small; do
        python3 - "$case" >"$WORK/coll.resp" <<'EOF'
import sys
case = sys.argv[1]
out = sys.stdout.buffer
def cmd(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)
buf = []
def emit(c):
    buf.append(c)
    if len(buf) >= 1000:
        out.write(b"".join(buf)); buf.clear()
if case == "hash-1m-fields":
    for s in range(0, 1_000_000, 100):
        args = ["HSET", "bighash"]
        for i in range(s, s + 100):
            args += ["field:%d" % i, "value:%d" % i]
        emit(cmd(*args))
elif case == "set-1m-members":
    for s in range(0, 1_000_000, 100):
        emit(cmd("SADD", "bigset", *["member:%d" % i for i in range(s, s + 100)]))
elif case == "zset-1m-members":
    for s in range(0, 1_000_000, 100):
        args = ["ZADD", "bigzset"]
        for i in range(s, s + 100):
            args += [i, "member:%d" % i]
        emit(cmd(*args))
elif case == "hashes-100k-small":
    for i in range(100_000):
        args = ["HSET", "user:%d" % i]
        for f in ("name", "email", "age", "city", "plan", "created", "seen", "score", "lang", "tz"):
            args += [f, "%s-%d" % (f, i)]
        emit(cmd(*args))
out.write(b"".join(buf))
EOF
        stop_servers
        start_servers
        for target in "rsredis:$RS_PORT" "redis:$RD_PORT"; do
            name="${target%%:*}"; port="${target##*:}"
            run "${TIMEOUT[@]}" redis-cli -p "$port" --pipe <"$WORK/coll.resp" >"$WORK/coll-$name.out" 2>&1 \
                || echo "    (redis-cli --pipe into $name failed)" >&2
            grep -q "errors: 0" "$WORK/coll-$name.out" || echo "    $name: $(tail -n 1 "$WORK/coll-$name.out")" >&2
        done
        sleep 2
        ra=$(rss_kb "$RS_PID"); da=$(rss_kb "$RD_PID")
        python3 -c "import sys; a,b=int(sys.argv[2]),int(sys.argv[3]); print('%-22s %11.1f MB %11.1f MB %7s' % (sys.argv[1], a/1024, b/1024, '%.2f' % (a/b) if b else 'n/a'))" "$case" "$ra" "$da"
    done
fi
