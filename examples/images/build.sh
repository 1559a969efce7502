#!/usr/bin/env bash
# Build the container images of the examples, offline: no registry is ever contacted.
#
#   examples/images/build.sh            # build what is missing, reuse the rest
#   EVOTUNE_REBUILD=1 examples/images/build.sh   # rebuild the base image from a fresh rootfs
#
# 1. evotune/python-base:bookworm — a Debian bookworm root filesystem made by
#    `debootstrap --variant=minbase --include=python3,python3-numpy,python3-sklearn`
#    from the Debian mirror this machine's apt already uses, imported with `docker import`.
#    Needs root (debootstrap) and 1-2 minutes the first time; skipped when the image exists.
# 2. evotune/digits:latest — FROM the base image, built with examples/digits/Dockerfile. The
#    build context is a tar of only the files the Dockerfile copies (examples/digits and the
#    stdlib-only job helper src/evotune/trial), so the repository's .venv is never sent.
#    `docker build` reuses its layer cache: a second run takes a second or two.
#
# Environment:
#   EVOTUNE_ROOTFS   where the rootfs is kept (default /var/cache/evotune/rootfs-bookworm;
#                    outside the repository, or under examples/images/rootfs/, which git ignores)
#   DEBIAN_MIRROR    the mirror for debootstrap (default: the first Debian URI in
#                    /etc/apt/sources.list*, else http://deb.debian.org/debian)
#   EVOTUNE_REBUILD  1: remove the rootfs and the base image first
#   EVOTUNE_BASE_IMAGE, EVOTUNE_DIGITS_IMAGE   other image names (to try the script aside)
set -euo pipefail

BASE_IMAGE="${EVOTUNE_BASE_IMAGE:-evotune/python-base:bookworm}"
DIGITS_IMAGE="${EVOTUNE_DIGITS_IMAGE:-evotune/digits:latest}"
SUITE="bookworm"
PACKAGES="python3,python3-numpy,python3-sklearn"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
rootfs="${EVOTUNE_ROOTFS:-/var/cache/evotune/rootfs-$SUITE}"

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The first http(s) URI of a Debian (not debian-security) archive that apt already uses,
# in either the one-line format (deb URI suite ...) or the deb822 format (URIs: URI).
apt_mirror() {
    local files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] && files+=("$f")
    done
    ((${#files[@]})) || return 0
    grep -hE '^[[:space:]]*(deb[[:space:]]|URIs:)' "${files[@]}" \
        | grep -oE 'https?://[^[:space:]]+' \
        | grep -E '/debian/?$' \
        | head -n 1 || true
}

command -v docker >/dev/null || die "docker is not installed (scripts/ci-docker.sh installs it)"
docker info >/dev/null 2>&1 || die "cannot reach the Docker engine; is dockerd running?"

if [[ "${EVOTUNE_REBUILD:-0}" == 1 ]]; then
    log "EVOTUNE_REBUILD=1: removing $BASE_IMAGE and $rootfs"
    docker image rm -f "$BASE_IMAGE" >/dev/null 2>&1 || true
    rm -rf "$rootfs"
fi

# --- 1. base image -------------------------------------------------------------------------
if have_image "$BASE_IMAGE"; then
    log "$BASE_IMAGE exists; skipping the rootfs"
else
    if [[ ! -x "$rootfs/usr/bin/python3" ]]; then
        command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
        [[ "$(id -u)" == 0 ]] || die "debootstrap needs root"
        mirror="${DEBIAN_MIRROR:-$(apt_mirror)}"
        mirror="${mirror:-http://deb.debian.org/debian}"
        log "debootstrap $SUITE from $mirror into $rootfs (1-2 minutes)"
        # Build into a scratch folder and move it in place only when complete, so an
        # interrupted run is never mistaken for a finished rootfs.
        mkdir -p "$(dirname "$rootfs")"
        rm -rf "$rootfs.partial"
        if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs.partial" \
                "$mirror" >"$rootfs.log" 2>&1; then
            tail -n 20 "$rootfs.log" >&2
            die "debootstrap failed; full log: $rootfs.log"
        fi
        mv "$rootfs.partial" "$rootfs"
    else
        log "reusing the rootfs in $rootfs"
    fi
    log "importing $rootfs as $BASE_IMAGE"
    # The downloaded .deb files and docs are not needed at run time (~180 MB).
    tar -C "$rootfs" --numeric-owner \
        --exclude='./var/cache/apt/archives/*.deb' \
        --exclude='./usr/share/doc/*' --exclude='./usr/share/man/*' \
        -c . \
        | docker import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' \
            --change 'CMD ["python3"]' \
            - "$BASE_IMAGE" >/dev/null
fi

# --- 2. the digits job image ---------------------------------------------------------------
[[ -f "$repo/examples/digits/Dockerfile" ]] || die "missing examples/digits/Dockerfile"
log "building $DIGITS_IMAGE"
tar -C "$repo" -c \
    --exclude='__pycache__' --exclude='*.pyc' --exclude='.evotune' \
    examples/digits src/evotune/trial src/evotune/errors.py \
    | docker build --quiet --build-arg "BASE_IMAGE=$BASE_IMAGE" \
        -f examples/digits/Dockerfile -t "$DIGITS_IMAGE" - >/dev/null
# Only our own dangling images (the previous build of the job image), never anyone else's.
docker image prune --force --filter label=evotune.image >/dev/null
log "done: $BASE_IMAGE, $DIGITS_IMAGE"
