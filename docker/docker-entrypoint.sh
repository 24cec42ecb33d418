#!/bin/bash
# Entrypoint in the manner of the official Redis image:
#   docker run IMAGE                       -> rsredis server /data/node.toml
#   docker run IMAGE --port 7000 ...       -> the same with directives
#   docker run IMAGE server --replicaof "redis-master 6379" ...
#   docker run IMAGE sentinel [--announce-ip ...]
#                                          -> rsredis sentinel /etc/rsredis/sentinel.toml ...
#   docker run IMAGE bash                  -> anything else runs as is
# Started as root, it makes /data the redis user's and drops to it.
set -e

# One RESP command over bash's /dev/tcp; prints the first `lines` lines of
# the reply (no redis-cli in the image).
resp() { # host port lines command...
    timeout 2 bash -c '
        exec 3<>"/dev/tcp/$0/$1" || exit 1
        n=$2
        shift 2
        printf "*%d\r\n" $# >&3
        for a in "$@"; do printf "\$%d\r\n%s\r\n" ${#a} "$a" >&3; done
        for ((i = 0; i < n; i++)); do
            IFS= read -r line <&3 || exit 1
            printf "%s\n" "${line%$'"'"'\r'"'"'}"
        done' "$@" 2>/dev/null
}

# "ip port" of the master the sentinels name, when it is not this container
# and it answers role:master; fails otherwise.
master_from_sentinels() {
    local s host port reply mine ip
    mine=" $(hostname -I 2>/dev/null) "
    for s in $RSREDIS_SENTINELS; do
        reply=$(resp "${s%:*}" "${s##*:}" 5 SENTINEL get-master-addr-by-name "${RSREDIS_MASTER_NAME:-mymaster}") || continue
        # *2 / $len / ip / $len / port
        host=$(printf '%s\n' "$reply" | sed -n 3p)
        port=$(printf '%s\n' "$reply" | sed -n 5p)
        [ -n "$host" ] && [ -n "$port" ] || continue
        # The sentinels may name the master by host name (replica-announce-ip).
        ip=$(getent hosts "$host" | awk '{print $1; exit}')
        [[ $mine == *" ${ip:-$host} "* ]] && return 1
        if resp "$host" "$port" 3 ROLE | sed -n 3p | grep -qx master; then
            echo "$host $port"
            return 0
        fi
        return 1
    done
    return 1
}

# Only options: they are server directives.
if [ "${1#-}" != "$1" ]; then
    set -- server "$@"
fi

case "$1" in
server)
    shift
    conf=/data/node.toml
    # The config lives in the volume so that CONFIG REWRITE (which a
    # sentinel sends after a failover) survives a restart: a master that was
    # demoted restarts as a replica instead of as a second master. On the
    # first start it is the image's default plus, if set, the first
    # master to follow (RSREDIS_REPLICAOF="host port"), which later
    # failovers then rewrite.
    if [ "${1#-}" = "$1" ] && [ -n "${1:-}" ]; then
        conf=$1
        shift
    elif [ ! -e "$conf" ]; then
        cp /etc/rsredis/node.toml "$conf"
        if [ -n "${RSREDIS_REPLICAOF:-}" ]; then
            printf 'replicaof = "%s"\n' "$RSREDIS_REPLICAOF" >>"$conf"
        fi
    fi
    # Ask the sentinels before serving: a node that was master when it went
    # down, and was replaced while it was away, starts as a replica of the
    # live master instead of answering role:master (and taking writes through
    # HAProxy) until a sentinel converts it.
    if [ -n "${RSREDIS_SENTINELS:-}" ]; then
        if follow=$(master_from_sentinels); then
            echo "docker-entrypoint: sentinels name $follow as the master of ${RSREDIS_MASTER_NAME:-mymaster}: starting as its replica"
            set -- --replicaof "$follow" "$@"
        fi
    fi
    set -- rsredis server --config "$conf" "$@"
    ;;
sentinel)
    shift
    conf=/etc/rsredis/sentinel.toml
    if [ "${1#-}" = "$1" ] && [ -n "${1:-}" ]; then
        conf=$1
        shift
    fi
    # The state file (myid, epochs, current master) goes to the volume.
    set -- rsredis sentinel --config "$conf" "$@"
    ;;
esac

if [ "$1" = rsredis ] && [ "$(id -u)" = 0 ]; then
    find /data \! -user redis -exec chown redis:redis '{}' + 2>/dev/null || true
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
