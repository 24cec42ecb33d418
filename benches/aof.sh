#!/usr/bin/env bash
# AOF comparison of rsredis and redis-server on this machine (issue 14).
#
#   benches/aof.sh
#
# Both servers run in the same run with the same settings: appendonly yes,
# no save points, no automatic rewrite, each with its own data dir.
# 1. SET throughput (redis-benchmark, $CLIENTS clients, random keys) with
#    appendfsync always and everysec, at -P 1 and -P 16; server CPU time per
#    request from /proc/<pid>/stat.
# 2. $KEYS keys loaded (redis-cli --pipe); both restarted: startup load time
#    of a $KEYS-key AOF of commands ("DB loaded from append only file" log).
# 3. BGREWRITEAOF: wall time and peak RSS (process + children, i.e. Redis's
#    fork child) against the RSS before.
# 4. Restart again: load time of the rewritten AOF (RDB-preamble BASE).
# Ratios are rsredis / redis (throughput: above 1 = rsredis faster; times
# and memory: below 1 = rsredis faster / smaller).
#
# Environment (all optional):
#   KEYS        keys for the rewrite and load parts (default 1000000)
#   N           requests per throughput run (default 200000)
#   CLIENTS     redis-benchmark connections (default 50)
#   RSREDIS_BIN rsredis binary to use; when set, nothing is built
#   REDIS_SERVER redis-server binary (default: from PATH)
# Needs redis-server, redis-benchmark, redis-cli and python3.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYS="${KEYS:-1000000}"
N="${N:-200000}"
CLIENTS="${CLIENTS:-50}"
REDIS_SERVER="${REDIS_SERVER:-redis-server}"

# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
require_tools "$REDIS_SERVER" redis-benchmark redis-cli python3
resolve_rsredis

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rsredis-aof.XXXXXX")"
RS_PID=""; RD_PID=""
cleanup() {
    local pid
    for pid in "$RS_PID" "$RD_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
    done
    for pid in "$RS_PID" "$RD_PID"; do
        if [[ -n "$pid" ]]; then
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
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
appendonly = true
auto-aof-rewrite-percentage = 0
EOF

now_ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }
start_rs() { "$RSREDIS_BIN" server --config "$WORK/rsredis/node.toml" >>"$WORK/rsredis/log" 2>&1 & RS_PID=$!; }
start_rd() {
    "$REDIS_SERVER" --port "$RD_PORT" --bind 127.0.0.1 --save '' --appendonly yes \
        --auto-aof-rewrite-percentage 0 --dir "$WORK/redis" --daemonize no \
        --logfile "$WORK/redis/log" >/dev/null 2>&1 &
    RD_PID=$!
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)

start_rs; start_rd
wait_ready "$RS_PORT" "$RS_PID" rsredis "$WORK/rsredis/log" 120
wait_ready "$RD_PORT" "$RD_PID" redis-server "$WORK/redis/log" 120
echo "rsredis      $("$RSREDIS_BIN" --version) pid $RS_PID"
echo "redis-server $("$REDIS_SERVER" --version | awk '{print $3}') pid $RD_PID"
echo "cpus: $(nproc)  clients: $CLIENTS  requests: $N  keys: $KEYS  data dir fs: $(df -T "$WORK" | awk 'NR==2 {print $2}')"
echo

# ---- 1. SET throughput
bench() { # port pid P -> "rps us_per_req"
    local c0 c1 out rps
    c0=$(cpu_ticks "$2")
    out=$(redis-benchmark -h 127.0.0.1 -p "$1" -t set -n "$N" -c "$CLIENTS" -P "$3" -r 1000000 --csv 2>/dev/null | tail -n 1)
    c1=$(cpu_ticks "$2")
    rps=$(awk -F'"' '{print $4}' <<<"$out")
    python3 -c "print('$rps', f'{($c1 - $c0) / $HZ * 1e6 / $N:.2f}')"
}
ROWS=""
for policy in always everysec; do
    redis-cli -p "$RS_PORT" CONFIG SET appendfsync "$policy" >/dev/null
    redis-cli -p "$RD_PORT" CONFIG SET appendfsync "$policy" >/dev/null
    for p in 1 16; do
        echo "==> SET appendfsync $policy -P $p" >&2
        rs=$(bench "$RS_PORT" "$RS_PID" "$p"); rd=$(bench "$RD_PORT" "$RD_PID" "$p")
        ROWS+="$policy $p $rs $rd"$'\n'
    done
done
redis-cli -p "$RS_PORT" CONFIG SET appendfsync everysec >/dev/null
redis-cli -p "$RD_PORT" CONFIG SET appendfsync everysec >/dev/null
redis-cli -p "$RS_PORT" FLUSHALL >/dev/null; redis-cli -p "$RD_PORT" FLUSHALL >/dev/null

# ---- 2. a KEYS-key AOF of commands, loaded at startup
echo "==> loading $KEYS keys" >&2
python3 - "$KEYS" >"$WORK/load.resp" <<'EOF'
import sys
n = int(sys.argv[1]); out = sys.stdout.buffer; chunk = []
for i in range(n):
    k = b"key:%d" % i; v = b"val:%d" % i
    chunk.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    if len(chunk) == 10000:
        out.write(b"".join(chunk)); chunk.clear()
out.write(b"".join(chunk))
EOF
redis-cli -p "$RS_PORT" --pipe <"$WORK/load.resp" >/dev/null 2>&1
redis-cli -p "$RD_PORT" --pipe <"$WORK/load.resp" >/dev/null 2>&1

restart_both() { # sets LOAD="rs_load rd_load rs_up rd_up" (no subshell: the new PIDs must stay known)
    stop_pid "$RS_PID"; stop_pid "$RD_PID"
    : >"$WORK/rsredis/log"; : >"$WORK/redis/log"
    local t0 t1 rs_up rd_up
    t0=$(now_ms); start_rs; wait_ready "$RS_PORT" "$RS_PID" rsredis "$WORK/rsredis/log" 120; t1=$(now_ms); rs_up=$((t1 - t0))
    t0=$(now_ms); start_rd; wait_ready "$RD_PORT" "$RD_PID" redis-server "$WORK/redis/log" 120; t1=$(now_ms); rd_up=$((t1 - t0))
    local rs_l rd_l
    rs_l=$(grep -o 'DB loaded from append only file: [0-9.]* seconds' "$WORK/rsredis/log" | awk '{print $7}' | tail -n 1)
    rd_l=$(grep -o 'DB loaded from append only file: [0-9.]* seconds' "$WORK/redis/log" | awk '{print $7}' | tail -n 1)
    LOAD="${rs_l:-0} ${rd_l:-0} $rs_up $rd_up"
}
echo "==> restart (AOF of commands)" >&2
AOF_SIZE_RS=$(du -sb "$WORK/rsredis/appendonlydir" | awk '{print $1}')
AOF_SIZE_RD=$(du -sb "$WORK/redis/appendonlydir" | awk '{print $1}')
restart_both; LOAD1="$LOAD"
K1="$(redis-cli -p "$RS_PORT" DBSIZE) / $(redis-cli -p "$RD_PORT" DBSIZE)"

# ---- 3. BGREWRITEAOF: time and peak RSS
cat >"$WORK/rewrite.py" <<'EOF'
import os, socket, sys, threading, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
def procs(root):
    out, todo = [], [root]
    while todo:
        p = todo.pop(); out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            pass
    return out
def rss(root):
    total = 0
    for p in procs(root):
        try:
            with open(f"/proc/{p}/status") as fh:
                for l in fh:
                    if l.startswith("VmRSS:"): total += int(l.split()[1])
        except OSError:
            pass
    return total
s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
def call(*args):
    s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    line = f.readline()
    if line[:1] == b"$":
        return f.read(int(line[1:]) + 2)[:-2]
    return line.strip()
base = rss(pid); peak = [base]; stop = False
def sampler():
    while not stop:
        peak[0] = max(peak[0], rss(pid)); time.sleep(0.005)
th = threading.Thread(target=sampler); th.start()
t0 = time.time()
assert b"started" in call(b"BGREWRITEAOF")
while True:
    info = call(b"INFO", b"persistence").decode()
    if "aof_rewrite_in_progress:0" in info and "aof_rewrite_scheduled:0" in info:
        break
    time.sleep(0.005)
el = time.time() - t0
stop = True; th.join()
print(f"{el:.3f} {base} {peak[0]}")
EOF
echo "==> BGREWRITEAOF" >&2
RW_RS=$(python3 "$WORK/rewrite.py" "$RS_PORT" "$RS_PID")
RW_RD=$(python3 "$WORK/rewrite.py" "$RD_PORT" "$RD_PID")

# ---- 4. load of the rewritten AOF (RDB preamble)
echo "==> restart (rewritten AOF)" >&2
restart_both; LOAD2="$LOAD"
K2="$(redis-cli -p "$RS_PORT" DBSIZE) / $(redis-cli -p "$RD_PORT" DBSIZE)"

python3 - <<EOF
rows = """$ROWS""".strip().splitlines()
fmt = "{:<10} {:>3} {:>12} {:>12} {:>6} {:>10} {:>10} {:>9}"
print(fmt.format("appendfsync", "P", "rsredis rps", "redis rps", "ratio", "rs us/req", "rd us/req", "cpu ratio"))
for r in rows:
    pol, p, rs, rscpu, rd, rdcpu = r.split()
    print(fmt.format(pol, p, rs, rd, f"{float(rs)/float(rd):.2f}", rscpu, rdcpu,
                     f"{float(rscpu)/float(rdcpu):.2f}" if float(rdcpu) else "n/a"))
print()
l1 = "$LOAD1".split(); l2 = "$LOAD2".split(); rs = "$RW_RS".split(); rd = "$RW_RD".split()
def ratio(a, b): return f"{float(a)/float(b):.2f}" if float(b) else "n/a"
fmt = "{:<44} {:>12} {:>12} {:>7}"
print(fmt.format("", "rsredis", "redis", "ratio"))
print(fmt.format("AOF size before rewrite (MB)", f"{$AOF_SIZE_RS/1e6:.1f}", f"{$AOF_SIZE_RD/1e6:.1f}", ratio($AOF_SIZE_RS, $AOF_SIZE_RD)))
print(fmt.format("keys after restart", "$K1".split(" / ")[0], "$K1".split(" / ")[1], ""))
print(fmt.format("load $KEYS-key AOF of commands (log, s)", l1[0], l1[1], ratio(l1[0], l1[1])))
print(fmt.format("  start to first PONG (ms)", l1[2], l1[3], ratio(l1[2], l1[3])))
print(fmt.format("BGREWRITEAOF wall time (s)", rs[0], rd[0], ratio(rs[0], rd[0])))
print(fmt.format("RSS before rewrite (MB)", f"{int(rs[1])/1024:.1f}", f"{int(rd[1])/1024:.1f}", ratio(rs[1], rd[1])))
print(fmt.format("peak RSS during rewrite (MB, with children)", f"{int(rs[2])/1024:.1f}", f"{int(rd[2])/1024:.1f}", ratio(rs[2], rd[2])))
print(fmt.format("RSS growth during rewrite", f"{(int(rs[2])/int(rs[1])-1)*100:.1f}%", f"{(int(rd[2])/int(rd[1])-1)*100:.1f}%", ""))
print(fmt.format("keys after restart", "$K2".split(" / ")[0], "$K2".split(" / ")[1], ""))
print(fmt.format("load rewritten AOF (RDB preamble, log, s)", l2[0], l2[1], ratio(l2[0], l2[1])))
print(fmt.format("  start to first PONG (ms)", l2[2], l2[3], ratio(l2[2], l2[3])))
EOF
