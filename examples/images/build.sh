#!/usr/bin/env bash
# Build the container images of the examples, offline: no image registry is ever contacted.
# Packages come from Debian's archive (debootstrap, and apt inside the job image's build) and,
# once per version change, from PyPI (pip on the host).
#
#   examples/images/build.sh            # build what is missing, reuse the rest
#   EVOTUNE_REBUILD=1 examples/images/build.sh   # rebuild from a fresh rootfs and fresh wheels
#
# 1. evotune/python-base:bookworm — a Debian bookworm root filesystem made by
#    `debootstrap --variant=minbase --include=python3,python3-numpy,python3-sklearn`
#    from the Debian mirror this machine's apt already uses, imported with `docker import`.
#    Needs root (debootstrap) and 1-2 minutes the first time; skipped when the image exists.
# 2. the wheels Debian does not package (examples/images/digits-wheels.txt: skl2onnx and
#    onnxconverter-common, pure Python), installed on the host by pip into a cache folder named
#    by their hash: PyPI is contacted once, later runs reuse the folder.
# 3. evotune/digits:latest — FROM the base image, built with examples/digits/Dockerfile, which
#    adds python3-onnx from Debian's archive (apt inside the build) and the wheels. The build
#    context is a tar of only the files the Dockerfile copies (examples/digits, the job-side
#    parts of src/evotune, the wheels), so the repository's .venv is never sent. The tar is
#    reproducible; its hash, with the base image's id, is the image's label evotune.context,
#    and a run whose hash matches skips `docker build` (a run with the images built: ~1 s).
#
# Environment:
#   EVOTUNE_CACHE    where the rootfs, the wheels and the logs are kept (default
#                    /var/cache/evotune, else ~/.cache/evotune when that is not writable)
#   EVOTUNE_ROOTFS   where the rootfs is kept (default $EVOTUNE_CACHE/rootfs-bookworm;
#                    outside the repository, or under examples/images/rootfs/, which git ignores)
#   DEBIAN_MIRROR    the mirror for debootstrap (default: the first Debian URI in
#                    /etc/apt/sources.list*, else http://deb.debian.org/debian)
#   EVOTUNE_PIP      the pip command for step 2 (default: the repository's .venv, else python3 -m pip)
#   EVOTUNE_REBUILD  1: remove the rootfs, the wheels and the base image first
#   EVOTUNE_BASE_IMAGE, EVOTUNE_DIGITS_IMAGE   other image names (to try the script aside)
set -euo pipefail

BASE_IMAGE="${EVOTUNE_BASE_IMAGE:-evotune/python-base:bookworm}"
DIGITS_IMAGE="${EVOTUNE_DIGITS_IMAGE:-evotune/digits:latest}"
SUITE="bookworm"
PACKAGES="python3,python3-numpy,python3-sklearn"
PY_VERSION="3.11"  # bookworm's python3, the Python the wheels are chosen for

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
requirements="$here/digits-wheels.txt"
cache="${EVOTUNE_CACHE:-/var/cache/evotune}"
if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w "$cache" ]]; then
    [[ -z "${EVOTUNE_CACHE:-}" ]] || { printf 'build.sh: error: %s is not writable\n' "$cache" >&2; exit 1; }
    cache="${XDG_CACHE_HOME:-$HOME/.cache}/evotune"
    mkdir -p "$cache"
fi
rootfs="${EVOTUNE_ROOTFS:-$cache/rootfs-$SUITE}"
# The wheels' folder is named by what decides its content.
site="$cache/site-$( { echo "$PY_VERSION"; cat "$requirements"; } | sha256sum | cut -c1-16)"

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
    log "EVOTUNE_REBUILD=1: removing $BASE_IMAGE, $rootfs and $site"
    docker image rm -f "$BASE_IMAGE" >/dev/null 2>&1 || true
    rm -rf "$rootfs" "$site"
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

# --- 2. the wheels Debian does not package -------------------------------------------------
if [[ -d "$site" ]]; then
    log "reusing the wheels in $site"
else
    if [[ -n "${EVOTUNE_PIP:-}" ]]; then
        read -r -a pip <<<"$EVOTUNE_PIP"
    elif [[ -x "$repo/.venv/bin/python" ]]; then
        pip=("$repo/.venv/bin/python" -m pip)
    else
        pip=(python3 -m pip)
    fi
    log "pip: installing the wheels of $requirements for Python $PY_VERSION into $site"
    rm -rf "$site.partial"
    # --no-deps: their dependencies are Debian's packages in the image, not PyPI's.
    if ! "${pip[@]}" install --no-deps --no-compile --require-hashes --only-binary=:all: \
            --python-version "$PY_VERSION" --target "$site.partial" -r "$requirements" \
            >"$site.log" 2>&1; then
        tail -n 20 "$site.log" >&2
        die "pip failed; full log: $site.log"
    fi
    rm -rf "$site.partial/bin"
    mv "$site.partial" "$site"
fi

# --- 3. the digits job image ---------------------------------------------------------------
[[ -f "$repo/examples/digits/Dockerfile" ]] || die "missing examples/digits/Dockerfile"
context="$(mktemp "${TMPDIR:-/tmp}/evotune-context.XXXXXX")"
trap 'rm -f "$context"' EXIT
# Reproducible: sorted, no times, owners or umask, so the same files give the same hash.
# Left out: what running the example leaves beside it (trial folders, the study database).
tar -c --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode='u+rwX,go+rX,go-w' \
    --exclude='__pycache__' --exclude='*.pyc' --exclude='.evotune' \
    --exclude='evotune-runs' --exclude='*.db' --exclude='*.db-*' \
    -C "$repo" examples/digits src/evotune/errors.py src/evotune/trial \
        src/evotune/evaluation/__init__.py src/evotune/evaluation/_errors.py \
        src/evotune/evaluation/_datasets.py \
    -C "$cache" --transform "s,^${site##*/},site-packages," "${site##*/}" >"$context"
want="$( { sha256sum <"$context"; docker image inspect -f '{{.Id}}' "$BASE_IMAGE"; } \
    | sha256sum | cut -c1-64)"
have="$(docker image inspect -f '{{index .Config.Labels "evotune.context"}}' "$DIGITS_IMAGE" \
    2>/dev/null || true)"
if [[ "$have" == "$want" ]]; then
    log "$DIGITS_IMAGE is up to date"
else
    log "building $DIGITS_IMAGE (log: $cache/digits-build.log)"
    if ! docker build --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "evotune.context=$want" \
            -f examples/digits/Dockerfile -t "$DIGITS_IMAGE" - <"$context" \
            >"$cache/digits-build.log" 2>&1; then
        tail -n 20 "$cache/digits-build.log" >&2
        die "docker build failed; full log: $cache/digits-build.log"
    fi
    # Only our own dangling images (the previous build of the job image), never anyone else's.
    docker image prune --force --filter label=evotune.image >/dev/null
fi
log "done: $BASE_IMAGE, $DIGITS_IMAGE"
