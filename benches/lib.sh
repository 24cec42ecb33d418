# Shared prologue of the one-run benchmark scripts (sourced, not run):
# the error exit, the tool check and the rsredis binary they compare.
# The sourcing script sets ROOT and REDIS_SERVER first.

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# Every tool named must be on PATH.
require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || die "'$tool' is required but not on PATH"
    done
}

# RSREDIS_BIN as given, or target/release/rsredis (built when cargo is there).
resolve_rsredis() {
    if [[ -n "${RSREDIS_BIN:-}" ]]; then
        [[ -x "$RSREDIS_BIN" ]] || die "RSREDIS_BIN=$RSREDIS_BIN is not an executable"
    else
        RSREDIS_BIN="$ROOT/target/release/rsredis"
        if command -v cargo >/dev/null 2>&1; then
            echo "==> cargo build --release --bin rsredis" >&2
            (cd "$ROOT" && cargo build --release --quiet --bin rsredis)
        fi
        [[ -x "$RSREDIS_BIN" ]] || die "$RSREDIS_BIN not found"
    fi
}

# Poll PING until the server on port $1 (pid $2, called $3, log $4) answers,
# for at most $5 seconds (default 10; dump loads need longer).
wait_ready() {
    local deadline=$((SECONDS + ${5:-10}))
    while ((SECONDS < deadline)); do
        [[ "$(redis-cli -p "$1" PING 2>/dev/null)" == "PONG" ]] && return 0
        kill -0 "$2" 2>/dev/null || { cat "$4" >&2; die "$3 exited during startup"; }
        sleep 0.05
    done
    cat "$4" >&2
    die "$3 did not answer PING on port $1"
}
