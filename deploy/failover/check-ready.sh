#!/usr/bin/env bash
# keepalived's vrrp_script for lb-balancer: exit 0 when GET /readyz on the balancer's admin
# port answers 200 (at least one worker takes requests), 1 otherwise (refused, 503, no answer).
#
#   check-ready.sh ADMIN_IP ADMIN_PORT
#
# Plain bash (/dev/tcp), so the check needs no curl; keepalived's `timeout` bounds the
# connect, and `read -t 1` bounds the wait for the status line.
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 ADMIN_IP ADMIN_PORT" >&2
    exit 2
fi
exec 3<>"/dev/tcp/$1/$2" || exit 1
printf 'GET /readyz HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n' "$1" "$2" >&3
IFS= read -r -t 1 status <&3 || exit 1
[[ $status =~ ^HTTP/1\.[01]\ 200\  ]]
