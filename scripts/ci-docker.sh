#!/usr/bin/env bash
# Make a Docker engine available on a CI machine and build the example images, offline.
#
#   scripts/ci-docker.sh && EVOTUNE_REQUIRE_DOCKER=1 .venv/bin/pytest -m docker
#
# - installs docker.io with apt-get when the `docker` command is missing (needs root);
# - starts dockerd in the background when `docker info` fails, logging to
#   ${DOCKERD_LOG:-/var/log/dockerd.log}, and waits for it at most ${DOCKERD_WAIT:-60} seconds;
# - runs examples/images/build.sh (fast when the images exist).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
wait_s="${DOCKERD_WAIT:-60}"
dockerd_log="${DOCKERD_LOG:-/var/log/dockerd.log}"

log() { printf 'ci-docker.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
    if [[ "$(id -u)" == 0 ]]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root for: $*"
    fi
}

if ! command -v docker >/dev/null; then
    log "installing docker.io and debootstrap"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
fi
command -v debootstrap >/dev/null || {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

if ! docker info >/dev/null 2>&1; then
    command -v dockerd >/dev/null || die "dockerd is not installed"
    log "starting dockerd (log: $dockerd_log)"
    as_root sh -c "nohup dockerd >'$dockerd_log' 2>&1 &"
    deadline=$((SECONDS + wait_s))
    until docker info >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "dockerd did not answer within ${wait_s}s; see $dockerd_log"
        sleep 1
    done
    log "dockerd is up"
fi

exec "$repo/examples/images/build.sh"
