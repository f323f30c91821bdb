#!/usr/bin/env bash
# Make sure PostgreSQL, Redis and RabbitMQ answer on 127.0.0.1; start what is down
# (commands from the team handbook's SERVICES.md) and wait until each answers.
set -uo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
    case "$1" in
        postgresql) pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start ;;
        redis) redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
                   --dir /var/lib/redis --logfile /var/log/redis/ci.log ;;
        rabbitmq) rabbitmq-server -detached ;;
    esac
}

status=0
for entry in postgresql:5432 redis:6379 rabbitmq:5672; do
    name=${entry%%:*}; port=${entry##*:}
    if answers "$port"; then continue; fi
    echo "services: $name is not answering on :$port, starting it"
    start "$name" || echo "services: could not start $name" >&2
    for _ in $(seq 1 60); do answers "$port" && break; sleep 1; done
    if answers "$port"; then echo "services: $name is up"; else echo "services: $name did not come up on :$port" >&2; status=1; fi
done
exit $status
