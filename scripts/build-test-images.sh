#!/usr/bin/env bash
# Build the local Docker images the tests use (no image registry is reachable, so nothing is
# pulled: each image is imported from a root filesystem built on this machine).
#
#   scripts/build-test-images.sh           # build the images whose tags are missing
#   scripts/build-test-images.sh --force   # rebuild all of them
#
# Tags come from scripts/infra.env (ORCH_TEST_BUSYBOX_IMAGE, ORCH_TEST_PYTHON_IMAGE). An image
# is built only when `docker image inspect TAG` fails, so this costs ~1 minute once per machine.
# Change a tag in infra.env when you change how its image is built.
#   busybox image: busybox-static with all applet links (~2 MB); also tagged busybox:latest
#                  when no such image exists (moto's Lambda-in-Docker expects a local "busybox").
#   python image:  debootstrap --variant=minbase --include=python3 $ORCH_TEST_DEBIAN_SUITE
#                  (~260 MB, 45-90 s; Debian's Python 3.11), CMD ["python3"].
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

force=""
case "${1:-}" in
    --force) force=1 ;;
    "") ;;
    *) die "unknown argument '$1' to $0" "use no argument, or --force to rebuild every image" ;;
esac

docker info >/dev/null 2>&1 ||
    die "no Docker engine answers, cannot build test images" "run scripts/ensure-docker.sh first"

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

take_lock images  # checks below happen under the lock, so a waiting run sees the built image

workdir="$(mktemp -d "${TMPDIR:-/var/tmp}/orchestrator-images.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT

build_busybox() {
    local tag="$ORCH_TEST_BUSYBOX_IMAGE" rootfs="$workdir/busybox" applet
    if [[ -z "$force" ]] && have_image "$tag"; then
        log "image $tag present"
    else
        apt_install busybox-static
        local bb
        bb="$(command -v busybox || echo /bin/busybox)"
        file_is_static "$bb" ||
            die "$bb is not statically linked, it would not run in an empty image" \
                "apt-get install --reinstall busybox-static"
        mkdir -p "$rootfs"/{bin,tmp,etc,root}
        chmod 1777 "$rootfs/tmp"
        cp "$bb" "$rootfs/bin/busybox"
        for applet in $("$rootfs/bin/busybox" --list); do
            [[ "$applet" == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
        done
        printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
        printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
        tar -C "$rootfs" -c . | docker import \
            -c 'ENV PATH=/bin' -c 'CMD ["sh"]' \
            -m "orchestrator test image from busybox-static" - "$tag" >/dev/null ||
            die "docker import of $tag failed" "see the error above; is the engine healthy? (docker info)"
        log "built $tag ($(image_size "$tag"))"
    fi
    if ! have_image busybox:latest; then
        docker tag "$tag" busybox:latest
        log "tagged $tag as busybox:latest"
    fi
}

build_python() {
    local tag="$ORCH_TEST_PYTHON_IMAGE" rootfs="$workdir/python"
    local mirror="${ORCH_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    if [[ -z "$force" ]] && have_image "$tag"; then
        log "image $tag present"
        return 0
    fi
    apt_install debootstrap
    log "debootstrap --variant=minbase --include=python3 $ORCH_TEST_DEBIAN_SUITE (about a minute)"
    if ! debootstrap --variant=minbase --include=python3 "$ORCH_TEST_DEBIAN_SUITE" "$rootfs" "$mirror" \
        >"$workdir/debootstrap.log" 2>&1; then
        tail -n 20 "$workdir/debootstrap.log" >&2
        die "debootstrap of $ORCH_TEST_DEBIAN_SUITE from $mirror failed (log tail above)" \
            "check that $mirror is reachable, or set ORCH_DEBIAN_MIRROR to a reachable Debian mirror"
    fi
    # Drop what a test image does not need: apt lists, caches, docs.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    tar -C "$rootfs" --numeric-owner -c . | docker import \
        -c 'ENV LANG=C.UTF-8' -c 'ENV PYTHONDONTWRITEBYTECODE=1' -c 'CMD ["python3"]' \
        -m "orchestrator test image: Debian $ORCH_TEST_DEBIAN_SUITE minbase + python3" - "$tag" >/dev/null ||
        die "docker import of $tag failed" "see the error above; is the engine healthy? (docker info)"
    docker run --rm "$tag" python3 -c "import json, sys; assert sys.version_info >= (3, 9)" ||
        die "the freshly built $tag cannot run python3" "re-run with --force; see the error above"
    log "built $tag ($(image_size "$tag"))"
}

file_is_static() {
    # A static binary has no PT_INTERP (program interpreter) header.
    ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q "Requesting program interpreter"
}
image_size() {
    docker image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'
}

build_busybox
build_python
