#!/usr/bin/env bash
# Failover time: rsredis sentinels vs real redis-sentinels on the same kind of
# real redis-server 7.0 group (1 master, 2 replicas), same timings.
#
#   benches/failover.sh                # RUNS=3 HOW=stop DOWN_AFTER=2000
#   RUNS=5 HOW=shutdown benches/failover.sh
#   RSREDIS=target/release/rsredis benches/failover.sh
#
# For each run: start a fresh group and 3 sentinels (quorum 2), wait until the
# sentinels know each other and both replicas, then tests/py/sentinel_client.py
# stops the master (SIGSTOP or SHUTDOWN NOSAVE) and measures, from that moment,
#   switch = the first +switch-master seen on any sentinel
#   write  = the first successful write through redis-py's Sentinel.master_for
# Prints per-run numbers, the means, and the ratios rsredis / redis-sentinel.
# Every process is started by this script and killed by its PID.
set -euo pipefail

cd "$(dirname "$0")/.."
RSREDIS=${RSREDIS:-target/debug/rsredis}
RUNS=${RUNS:-3}
HOW=${HOW:-stop}
DOWN_AFTER=${DOWN_AFTER:-2000}
FAILOVER_TIMEOUT=${FAILOVER_TIMEOUT:-6000}
[ -x "$RSREDIS" ] || { echo "build first: cargo build (or set RSREDIS)"; exit 1; }
for b in redis-server redis-sentinel redis-cli python3; do
  command -v "$b" >/dev/null || { echo "missing $b"; exit 1; }
done
python3 -c 'import redis.sentinel' || { echo "pip install redis"; exit 1; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && { kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; }
  done
  PIDS=()
}
trap 'cleanup; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for() { # timeout-seconds command...
  local t=$1; shift
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.1
  done
}

field() { # port field  (SENTINEL MASTER mymaster)
  redis-cli -p "$1" SENTINEL MASTER mymaster 2>/dev/null | awk -v f="$2" 'p{print; exit} $0==f{p=1}'
}

ready() { # sentinel port
  [ "$(field "$1" num-other-sentinels)" = 2 ] && [ "$(field "$1" num-slaves)" = 2 ]
}

one_run() { # kind(rsredis|real) dir
  local kind=$1 dir=$2
  mkdir -p "$dir"
  local mport; mport=$(free_port)
  local ports=()
  redis-server --port "$mport" --save '' --appendonly no --dir "$dir" >"$dir/m.log" 2>&1 &
  local mpid=$!; PIDS+=("$mpid")
  wait_for 5 redis-cli -p "$mport" ping
  for i in 1 2; do
    local p; p=$(free_port)
    redis-server --port "$p" --save '' --appendonly no --dir "$dir" --replicaof 127.0.0.1 "$mport" >"$dir/r$i.log" 2>&1 &
    PIDS+=("$!")
    wait_for 10 sh -c "redis-cli -p $p info replication | grep -q master_link_status:up"
  done
  for i in 1 2 3; do
    local sp; sp=$(free_port); ports+=("$sp")
    if [ "$kind" = rsredis ]; then
      mkdir -p "$dir/s$i"
      cat >"$dir/s$i/sentinel.toml" <<EOF
port = $sp
dir = "$dir/s$i"
[[master]]
name = "mymaster"
host = "127.0.0.1"
port = $mport
quorum = 2
down-after-milliseconds = $DOWN_AFTER
failover-timeout = $FAILOVER_TIMEOUT
EOF
      "$RSREDIS" sentinel --config "$dir/s$i/sentinel.toml" >"$dir/s$i.log" 2>&1 &
    else
      cat >"$dir/s$i.conf" <<EOF
port $sp
bind 127.0.0.1
dir $dir
sentinel monitor mymaster 127.0.0.1 $mport 2
sentinel down-after-milliseconds mymaster $DOWN_AFTER
sentinel failover-timeout mymaster $FAILOVER_TIMEOUT
EOF
      redis-sentinel "$dir/s$i.conf" >"$dir/s$i.log" 2>&1 &
    fi
    PIDS+=("$!")
  done
  for sp in "${ports[@]}"; do
    wait_for 30 ready "$sp" || { echo "sentinel $sp not ready" >&2; return 1; }
  done
  local csv; csv=$(IFS=,; echo "${ports[*]}")
  python3 tests/py/sentinel_client.py "$csv" "$mpid" "$HOW"
  cleanup
}

declare -A SUM
for kind in rsredis real; do
  SUM[$kind.switch]=0; SUM[$kind.write]=0; SUM[$kind.n]=0
done
for run in $(seq 1 "$RUNS"); do
  for kind in rsredis real; do
    out=$(one_run "$kind" "$WORK/$kind-$run")
    sw=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["switch_seconds"])' "$out")
    wr=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["write_seconds"])' "$out")
    er=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["errors"])' "$out")
    printf '%-8s run %d: switch %6.3f s  first write %6.3f s  failed writes %s\n' "$kind" "$run" "$sw" "$wr" "$er"
    SUM[$kind.switch]=$(python3 -c "print(${SUM[$kind.switch]} + $sw)")
    SUM[$kind.write]=$(python3 -c "print(${SUM[$kind.write]} + $wr)")
    SUM[$kind.n]=$((SUM[$kind.n] + 1))
  done
done
python3 - "${SUM[rsredis.switch]}" "${SUM[rsredis.write]}" "${SUM[real.switch]}" "${SUM[real.write]}" "$RUNS" "$HOW" "$DOWN_AFTER" <<'EOF'
import sys
rs, rw, ss, sw, n = map(float, sys.argv[1:6])
how, da = sys.argv[6], sys.argv[7]
print(f"\nmaster {how}, down-after {da} ms, {int(n)} runs each (means):")
print(f"  rsredis sentinels : switch {rs/n:6.3f} s   first write {rw/n:6.3f} s")
print(f"  redis-sentinel    : switch {ss/n:6.3f} s   first write {sw/n:6.3f} s")
print(f"  ratio rsredis/real: switch {rs/ss:6.3f}     first write {rw/sw:6.3f}")
EOF
