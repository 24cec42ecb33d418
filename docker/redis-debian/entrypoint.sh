#!/bin/bash
# server: redis-server with /data/redis.conf (written on the first start, so
# the CONFIG REWRITE a sentinel sends after a failover is kept);
# sentinel: redis-sentinel with /data/sentinel.conf (it rewrites its file).
set -e
case "$1" in
server)
    shift
    if [ ! -e /data/redis.conf ]; then
        printf 'bind * -::*\nprotected-mode no\nport 6379\ndir /data\n' >/data/redis.conf
        if [ -n "${REDIS_REPLICAOF:-}" ]; then echo "replicaof $REDIS_REPLICAOF" >>/data/redis.conf; fi
    fi
    set -- redis-server /data/redis.conf "$@"
    ;;
sentinel)
    shift
    [ -e /data/sentinel.conf ] || cp /etc/redis-docker/sentinel.conf /data/sentinel.conf
    set -- redis-sentinel /data/sentinel.conf "$@"
    ;;
esac
if [ "$(id -u)" = 0 ] && [[ $1 == redis-* ]]; then
    chown -R redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
