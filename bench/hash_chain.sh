#!/usr/bin/env bash
# Measures what the hash-chain trigger (migrations/0005_hash_chain.sql) costs the services' SQL
# appends with pgbench (16 clients): PlaceOrder (version 1, no previous hash to look up) and
# TransferFunds (two streams at version > 1, one lookup each). Runs alternate between a database
# without and one with 0005; median of 3 (min, max). Both need 0001-0003 (and 0004) applied.
# Usage: bench/hash_chain.sh "<conn args without 0005>" "<conn args with 0005>" [seconds]
set -euo pipefail
without=${1:?connection args of a database without 0005}
with=${2:?connection args of a database with 0005}
secs=${3:-10}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC2086
run() { # $1 = connection args, $2 = script; prints tps
    PGOPTIONS="-c orderly.internal_writer=on" pgbench -n -M prepared -c 16 -j 2 -T "$secs" \
        -D accounts=1000 -f "$here/pgbench/$2" $1 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
row() { # name, values...
    local name=$1 s
    shift
    s=$(printf '%s\n' "$@" | sort -n)
    printf '| %s | %.0f | %.0f | %.0f |\n' "$name" "$(sed -n 2p <<<"$s")" "$(head -1 <<<"$s")" \
        "$(tail -1 <<<"$s")"
}
echo "| workload, schema | median tx/s | min | max |"
echo "| --- | --- | --- | --- |"
for script in place_order.sql transfer.sql; do
    a=() b=()
    for _ in 1 2 3; do
        a+=("$(run "$without" "$script")")
        b+=("$(run "$with" "$script")")
    done
    row "${script%.sql}, without 0005" "${a[@]}"
    row "${script%.sql}, with 0005 (hash chain)" "${b[@]}"
done
