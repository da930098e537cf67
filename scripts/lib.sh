# Shell functions shared by scripts/run and scripts/test: Debian packages, meson builds, output.
# Sourced, never run; callers set -euo pipefail.
# shellcheck shell=bash

ORDERLY_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# What a fresh Debian 12 needs to build and run orderly.
# shellcheck disable=SC2034 # used by the scripts that source this file
ORDERLY_RUN_PACKAGES=(meson ninja-build pkg-config gcc libmicrohttpd-dev libjansson-dev
    libpq-dev libsodium-dev check postgresql curl python3)
# Extra tools the test suites use: clang and libclang-rt-14-dev (libFuzzer's runtime) build the
# fuzz targets; wrk drives bench/run (its smoke is a suite); git names the commit in bench reports
# and lists the tracked files for the docs test. pgbench comes with postgresql (postgresql-15).
# tests/lint/commands.py fails when a suite calls a command that no array here provides.
# shellcheck disable=SC2034
ORDERLY_TEST_PACKAGES=(valgrind clang-format clang libclang-rt-14-dev wrk git)
# The browser suite (tests/browser): Debian's headless Chromium, driven over its DevTools pipe
# by a stdlib Python client.
# shellcheck disable=SC2034
ORDERLY_BROWSER_PACKAGES=(chromium-headless-shell)
# The operations suite (scripts/ops-check): `docker-compose config` needs no engine; PyYAML for
# the compose and OpenAPI tests.
# shellcheck disable=SC2034
ORDERLY_OPS_PACKAGES=(docker-compose python3-yaml)
# The real compose run (scripts/compose-test): a Docker engine and compose v1 from Debian, and
# debootstrap for the stand-in base images when no registry can supply them. Installed only
# when no engine answers (docker.io would replace an engine from elsewhere).
# shellcheck disable=SC2034
ORDERLY_COMPOSE_PACKAGES=(docker.io docker-compose debootstrap iptables iproute2 curl)
# npm (for the OpenAPI linter) is installed by scripts/ops-check only when there is no npm at all:
# a Node.js from elsewhere brings its own and conflicts with Debian's package.
# shellcheck disable=SC2034
ORDERLY_NPM_PACKAGES=(npm)

orderly_say() {
    printf '==> %s\n' "$*" >&2
}

orderly_installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

# Installs only the packages that are missing (apt-get update first, once).
orderly_ensure_packages() {
    local missing=() p
    command -v dpkg >/dev/null || { orderly_say "no dpkg: install $* yourself"; return 0; }
    for p in "$@"; do
        orderly_installed "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null; then
            orderly_say "missing packages: ${missing[*]} (run as root to install them)"
            return 1
        fi
        sudo=(sudo)
    fi
    orderly_say "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
}

# orderly_abs DIR: DIR made absolute against the repo.
orderly_abs() {
    case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$ORDERLY_REPO/$1" ;;
    esac
}

# orderly_build DIR [meson options...]: configures DIR once (relative to the repo), then ninja.
# -k 0 builds every target it can, so one broken binary does not hide the others' tests.
orderly_build() {
    local dir
    dir="$(orderly_abs "$1")"
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$ORDERLY_REPO" "$@" >&2 || return 1
    fi
    ninja -C "$dir" -k 0 >&2
}
