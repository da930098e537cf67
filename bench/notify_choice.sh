#!/usr/bin/env bash
# Measures how the append notification design changes PlaceOrder's SQL throughput (pgbench, 16
# clients, 3 runs each, median). Usage: bench/notify_choice.sh "<psql connection args>" [seconds]
# The database must have migrations/0001_events.sql applied. Prints one markdown table row each.
set -euo pipefail
conn=${1:?connection args, e.g. "-h 127.0.0.1 -p 5432 -U postgres orderly"}
secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC2086
run() { # $1 = PGOPTIONS, $2 = script; prints tps
    PGOPTIONS="$1" pgbench -n -M prepared -c 16 -j 2 -T "$secs" -f "$2" $conn 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
variant() { # name, PGOPTIONS, script, [background notifier rate]
    local name=$1 opts=$2 script=$3 rate=${4:-} r=() bg=""
    for _ in 1 2 3; do
        if [ -n "$rate" ]; then
            # shellcheck disable=SC2086
            pgbench -n -c 1 -R "$rate" -T "$secs" -f "$here/pgbench/notify.sql" $conn >/dev/null 2>&1 &
            bg=$!
        fi
        r+=("$(run "$opts" "$script")")
        [ -n "$bg" ] && wait "$bg"
    done
    printf '| %s | %.0f | %.0f | %.0f |\n' "$name" "$(median3 "${r[@]}")" \
        "$(printf '%s\n' "${r[@]}" | sort -n | head -1)" "$(printf '%s\n' "${r[@]}" | sort -n | tail -1)"
}
echo "| design | median tx/s | min | max |"
echo "| --- | --- | --- | --- |"
variant "no triggers, no NOTIFY (ceiling)" "-c session_replication_role=replica" "$here/pgbench/place_order.sql"
variant "chosen: triggers on, services' NOTIFY off in-transaction" "-c orderly.internal_writer=on" "$here/pgbench/place_order.sql"
variant "chosen + separate connection NOTIFY 500/s" "-c orderly.internal_writer=on" "$here/pgbench/place_order.sql" 500
variant "NOTIFY inside every append transaction" "" "$here/pgbench/place_order.sql"
variant "global advisory lock around every append" "-c orderly.internal_writer=on" "$here/pgbench/place_order_advisory.sql"
