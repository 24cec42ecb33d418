#!/bin/bash
# A minimal redis-cli for the image (no redis-tools: it would double the
# image): one command, its reply printed one value a line.
#   rsredis-cli [-h host] [-p port] [-a password] command [arg...]
#   docker compose exec sentinel-1 rsredis-cli -p 26379 SENTINEL get-master-addr-by-name mymaster
export LC_ALL=C # lengths in bytes
host=127.0.0.1 port=6379 pass=
while getopts "h:p:a:" o; do
    case $o in h) host=$OPTARG ;; p) port=$OPTARG ;; a) pass=$OPTARG ;; *) exit 2 ;; esac
done
shift $((OPTIND - 1))
(($#)) || { echo "usage: rsredis-cli [-h host] [-p port] [-a password] command [arg...]" >&2; exit 2; }
exec 3<>"/dev/tcp/$host/$port" || exit 1
send() {
    printf '*%d\r\n' $# >&3
    local a
    for a in "$@"; do printf '$%d\r\n%s\r\n' "$(printf %s "$a" | LC_ALL=C wc -c)" "$a" >&3; done
}
reply() {
    local line n i data
    IFS= read -r -t 5 line <&3 || { echo "(no reply)" >&2; exit 1; }
    line=${line%$'\r'}
    case ${line:0:1} in
    '+' | ':') echo "${line:1}" ;;
    '-') echo "(error) ${line:1}"; status=1 ;;
    '$')
        n=${line:1}
        if ((n < 0)); then echo "(nil)"; else
            LC_ALL=C IFS= read -r -N $((n + 2)) data <&3
            echo "${data:0:n}"
        fi
        ;;
    '*')
        n=${line:1}
        if ((n < 0)); then echo "(nil)"; else for ((i = 0; i < n; i++)); do reply; done; fi
        ;;
    esac
}
status=0
if [ -n "$pass" ]; then send AUTH "$pass"; reply >/dev/null; fi
send "$@"
reply
exit $status
