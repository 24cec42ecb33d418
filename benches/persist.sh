#!/usr/bin/env bash
# Persistence comparison of rsredis and redis-server on this machine.
#
#   benches/persist.sh
#
# 1. Starts rsredis (target/release/rsredis, built with `cargo build --release`
#    when cargo is available) and redis-server, each on a free loopback port
#    with its own data dir and no save points.
# 2. Loads $KEYS keys (SET key:<i> val:<i>) into each through `redis-cli --pipe`.
# 3. SAVE: wall time of a synchronous save, and the dump size.
# 4. BGSAVE while a write load runs (redis-benchmark SET on random keys of the
#    same key space): peak memory of the server during the save (RSS and PSS,
#    summed over the process and its children, i.e. Redis's fork child) and
#    the latency a client sees: a PING loop on its own connection, max / p99.
#    The same PING loop without BGSAVE gives the baseline.
# 5. Restart: time to load the dump at startup ("DB loaded from disk" log
#    line) and time until PING answers.
# Ratios are rsredis / redis (below 1 = rsredis smaller or faster).
# Both servers are stopped by PID on exit, whatever happens.
#
# Environment (all optional):
#   KEYS          keys loaded (default 1000000)
#   WRITE_CLIENTS redis-benchmark connections writing during BGSAVE (default 4; 0 = none)
#   RSREDIS_BIN   rsredis binary to use; when set, nothing is built
#   REDIS_SERVER  redis-server binary (default: from PATH)
#
# Needs redis-server, redis-benchmark, redis-cli and python3.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYS="${KEYS:-1000000}"
WRITE_CLIENTS="${WRITE_CLIENTS:-4}"
REDIS_SERVER="${REDIS_SERVER:-redis-server}"

# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
require_tools "$REDIS_SERVER" redis-benchmark redis-cli python3
resolve_rsredis

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rsredis-persist.XXXXXX")"
RS_PID=""
RD_PID=""
BG_PID=""

cleanup() {
    local pid
    for pid in "$BG_PID" "$RS_PID" "$RD_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
        fi
    done
    for pid in "$BG_PID" "$RS_PID" "$RD_PID"; do
        if [[ -n "$pid" ]]; then
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

mkdir -p "$WORK/rsredis" "$WORK/redis"
cat >"$WORK/rsredis/node.toml" <<EOF
port = $RS_PORT
bind = ["127.0.0.1"]
dir = "$WORK/rsredis"
save = ""
loglevel = "notice"
EOF

now_ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }

start_rs() {
    "$RSREDIS_BIN" server --config "$WORK/rsredis/node.toml" >>"$WORK/rsredis/log" 2>&1 &
    RS_PID=$!
}
start_rd() {
    "$REDIS_SERVER" --port "$RD_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$WORK/redis" --dbfilename dump.rdb --daemonize no \
        --logfile "$WORK/redis/log" >/dev/null 2>&1 &
    RD_PID=$!
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

start_rs; start_rd
wait_ready "$RS_PORT" "$RS_PID" rsredis "$WORK/rsredis/log" 60
wait_ready "$RD_PORT" "$RD_PID" redis-server "$WORK/redis/log" 60
echo "rsredis      $("$RSREDIS_BIN" --version) pid $RS_PID port $RS_PORT ($RSREDIS_BIN)"
echo "redis-server $("$REDIS_SERVER" --version | awk '{print $3}') pid $RD_PID port $RD_PORT"
echo "cpus: $(nproc 2>/dev/null || echo '?')  keys: $KEYS  writers during BGSAVE: $WRITE_CLIENTS"
echo

echo "==> loading $KEYS keys into each server" >&2
python3 - "$KEYS" >"$WORK/load.resp" <<'EOF'
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
for target in "rsredis:$RS_PORT" "redis:$RD_PORT"; do
    name="${target%%:*}"; port="${target##*:}"
    redis-cli -p "$port" --pipe <"$WORK/load.resp" >"$WORK/pipe-$name.out" 2>&1 \
        || echo "    (redis-cli --pipe into $name failed)" >&2
done

# ---- SAVE
save_ms() { # port
    local t0 t1
    t0=$(now_ms)
    redis-cli -p "$1" SAVE >/dev/null
    t1=$(now_ms)
    echo $((t1 - t0))
}
echo "==> SAVE" >&2
RS_SAVE=$(save_ms "$RS_PORT"); RD_SAVE=$(save_ms "$RD_PORT")
RS_SIZE=$(stat -c %s "$WORK/rsredis/dump.rdb"); RD_SIZE=$(stat -c %s "$WORK/redis/dump.rdb")

# ---- BGSAVE under a write load: memory and client-observed stalls
PROBE="$WORK/probe.py"
cat >"$PROBE" <<'EOF'
import socket, sys, threading, time
port, pid, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def conn():
    s = socket.create_connection(("127.0.0.1", port)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s, s.makefile("rb")

def call(s, f, *args):
    s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    line = f.readline()
    if line[:1] == b"$":
        n = int(line[1:])
        data = f.read(n + 2)
        return data[:-2]
    return line.strip()

def procs(root):
    out, todo = [], [root]
    while todo:
        p = todo.pop(); out.append(p)
        try:
            for t in __import__("os").listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            pass
    return out

def mem(root):
    rss = pss = 0
    for p in procs(root):
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for l in fh:
                    if l.startswith("Rss:"): rss += int(l.split()[1])
                    elif l.startswith("Pss:"): pss += int(l.split()[1])
        except OSError:
            pass
    return rss, pss

peak = [0, 0]
stop = False
def sampler():
    while not stop:
        r, p = mem(pid)
        peak[0] = max(peak[0], r); peak[1] = max(peak[1], p)
        time.sleep(0.005)

def in_progress(s, f):
    info = call(s, f, b"INFO", b"persistence").decode()
    return "rdb_bgsave_in_progress:1" in info

ping_s, ping_f = conn()
ctl_s, ctl_f = conn()
base_rss, base_pss = mem(pid)
th = threading.Thread(target=sampler); th.start()
lat = []
t_start = time.time()
if mode == "bgsave":
    reply = call(ctl_s, ctl_f, b"BGSAVE")
    assert b"started" in reply, reply
    last_check = 0.0
    while True:
        t = time.perf_counter(); call(ping_s, ping_f, b"PING"); lat.append(time.perf_counter() - t)
        now = time.time()
        if now - last_check > 0.02:
            last_check = now
            if not in_progress(ctl_s, ctl_f):
                break
else:
    dur = float(sys.argv[4])
    while time.time() - t_start < dur:
        t = time.perf_counter(); call(ping_s, ping_f, b"PING"); lat.append(time.perf_counter() - t)
elapsed = time.time() - t_start
stop = True; th.join()
lat.sort()
p99 = lat[int(len(lat) * 0.99)] if lat else 0
print(f"{elapsed:.3f} {lat[-1]*1000:.3f} {p99*1000:.3f} {len(lat)} {base_rss} {peak[0]} {base_pss} {peak[1]}")
EOF

bgsave_run() { # name port pid -> prints probe line
    local name="$1" port="$2" pid="$3" out
    if [[ "$WRITE_CLIENTS" -gt 0 ]]; then
        redis-benchmark -h 127.0.0.1 -p "$port" -t set -r "$KEYS" -n 100000000 -c "$WRITE_CLIENTS" \
            -q >/dev/null 2>&1 &
        BG_PID=$!
        sleep 1
    fi
    out=$(python3 "$PROBE" "$port" "$pid" bgsave)
    local dur; dur=$(awk '{print $1}' <<<"$out")
    local base; base=$(python3 "$PROBE" "$port" "$pid" baseline "$dur")
    if [[ -n "$BG_PID" ]]; then stop_pid "$BG_PID"; BG_PID=""; fi
    echo "$out $base"
}
echo "==> BGSAVE rsredis" >&2
RS_BG=$(bgsave_run rsredis "$RS_PORT" "$RS_PID")
echo "==> BGSAVE redis" >&2
RD_BG=$(bgsave_run redis "$RD_PORT" "$RD_PID")
# make sure both dumps are complete before the restart
redis-cli -p "$RS_PORT" SAVE >/dev/null; redis-cli -p "$RD_PORT" SAVE >/dev/null
RS_KEYS=$(redis-cli -p "$RS_PORT" DBSIZE); RD_KEYS=$(redis-cli -p "$RD_PORT" DBSIZE)
RS_STEPS=$(grep -o 'snapshot: .*' "$WORK/rsredis/log" 2>/dev/null | head -n 1 || true)

# ---- restart: load time
echo "==> restart" >&2
stop_pid "$RS_PID"; stop_pid "$RD_PID"
: >"$WORK/rsredis/log"; : >"$WORK/redis/log"
t0=$(now_ms); start_rs; wait_ready "$RS_PORT" "$RS_PID" rsredis "$WORK/rsredis/log" 60; t1=$(now_ms)
RS_UP=$((t1 - t0))
t0=$(now_ms); start_rd; wait_ready "$RD_PORT" "$RD_PID" redis-server "$WORK/redis/log" 60; t1=$(now_ms)
RD_UP=$((t1 - t0))
RS_LOAD=$(grep -o 'DB loaded from disk: [0-9.]* seconds' "$WORK/rsredis/log" | awk '{print $5}' | tail -n 1)
RD_LOAD=$(grep -o 'DB loaded from disk: [0-9.]* seconds' "$WORK/redis/log" | awk '{print $5}' | tail -n 1)
RS_KEYS2=$(redis-cli -p "$RS_PORT" DBSIZE); RD_KEYS2=$(redis-cli -p "$RD_PORT" DBSIZE)

python3 - <<EOF
rs_bg = "$RS_BG".split(); rd_bg = "$RD_BG".split()
def f(x): return float(x)
def ratio(a, b): return f"{a / b:.2f}" if b else "n/a"
rows = [
    ("keys (before / after restart)", f"$RS_KEYS / $RS_KEYS2", f"$RD_KEYS / $RD_KEYS2", ""),
    ("SAVE time (ms)", $RS_SAVE, $RD_SAVE, ratio($RS_SAVE, $RD_SAVE)),
    ("dump size (MB)", f"{$RS_SIZE / 1e6:.1f}", f"{$RD_SIZE / 1e6:.1f}", ratio($RS_SIZE, $RD_SIZE)),
    ("BGSAVE wall time (s)", rs_bg[0], rd_bg[0], ratio(f(rs_bg[0]), f(rd_bg[0]))),
    ("RSS before BGSAVE (MB)", f"{f(rs_bg[4]) / 1024:.1f}", f"{f(rd_bg[4]) / 1024:.1f}", ratio(f(rs_bg[4]), f(rd_bg[4]))),
    ("peak RSS during BGSAVE (MB)", f"{f(rs_bg[5]) / 1024:.1f}", f"{f(rd_bg[5]) / 1024:.1f}", ratio(f(rs_bg[5]), f(rd_bg[5]))),
    ("peak PSS during BGSAVE (MB)", f"{f(rs_bg[7]) / 1024:.1f}", f"{f(rd_bg[7]) / 1024:.1f}", ratio(f(rs_bg[7]), f(rd_bg[7]))),
    ("PING max latency in BGSAVE (ms)", rs_bg[1], rd_bg[1], ratio(f(rs_bg[1]), f(rd_bg[1]))),
    ("PING p99 latency in BGSAVE (ms)", rs_bg[2], rd_bg[2], ratio(f(rs_bg[2]), f(rd_bg[2]))),
    ("PING max latency, no BGSAVE (ms)", rs_bg[9], rd_bg[9], ratio(f(rs_bg[9]), f(rd_bg[9]))),
    ("PING p99 latency, no BGSAVE (ms)", rs_bg[10], rd_bg[10], ratio(f(rs_bg[10]), f(rd_bg[10]))),
    ("startup load (log, s)", "$RS_LOAD" or "n/a", "$RD_LOAD" or "n/a",
        ratio(float("$RS_LOAD" or 0), float("$RD_LOAD" or 0)) if "$RS_LOAD" and "$RD_LOAD" else "n/a"),
    ("start to first PONG (ms)", $RS_UP, $RD_UP, ratio($RS_UP, $RD_UP)),
]
fmt = "{:<34} {:>16} {:>16} {:>7}"
print(fmt.format("", "rsredis", "redis", "ratio"))
print(fmt.format("-" * 34, "-" * 16, "-" * 16, "-" * 7))
for r in rows:
    print(fmt.format(r[0], str(r[1]), str(r[2]), r[3]))
EOF
if [[ -n "$RS_STEPS" ]]; then echo "rsredis BGSAVE job: $RS_STEPS"; fi
