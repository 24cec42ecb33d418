#!/bin/bash
# Container health check without redis-cli: PING the local port.
#   rsredis-healthcheck [port]      (default 6379; 26379 for a sentinel)
port=${1:-6379}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'PING\r\n' >&3
IFS= read -r -t 2 reply <&3 || exit 1
[[ $reply == +PONG* ]]
