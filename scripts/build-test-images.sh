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
#   dbt image:     the python image + $ORCH_TEST_DBT_CORE_SPEC and $ORCH_TEST_DBT_DUCKDB_SPEC.
#                  The wheels are fetched on the host (`pip wheel`, PyPI) into the build context
#                  and installed in the Dockerfile with `pip install --no-index`, pip itself run
#                  from its wheel: the build needs no network inside the container.
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

build_dbt() {
    local tag="$ORCH_TEST_DBT_IMAGE" ctx="$workdir/dbt" py
    if [[ -z "$force" ]] && have_image "$tag"; then
        log "image $tag present"
        return 0
    fi
    have_image "$ORCH_TEST_PYTHON_IMAGE" ||
        die "$tag is built on $ORCH_TEST_PYTHON_IMAGE, which is missing" "run $0 --force"
    # any Python with pip on the host fetches the wheels (the image's Python is also 3.11 on
    # glibc, so manylinux wheels picked for the host fit)
    py="${ORCH_PYTHON:-python3}"
    [[ -x "$ORCH_REPO_ROOT/.venvs/test/bin/python" ]] && py="$ORCH_REPO_ROOT/.venvs/test/bin/python"
    "$py" -m pip --version >/dev/null 2>&1 ||
        die "$py has no pip, needed to fetch the dbt wheels for $tag" "install pip for $py or set ORCH_PYTHON"
    mkdir -p "$ctx/wheels"
    log "fetching wheels for $ORCH_TEST_DBT_CORE_SPEC $ORCH_TEST_DBT_DUCKDB_SPEC (PyPI, on the host)"
    pip_run "$py" wheel -w "$ctx/wheels" "$ORCH_TEST_DBT_CORE_SPEC" "$ORCH_TEST_DBT_DUCKDB_SPEC" ||
        die "could not fetch the dbt wheels for $tag" "check that PyPI is reachable (pip config, proxy)"
    pip_run "$py" download --no-deps --only-binary=:all: -d "$ctx/wheels" pip ||
        die "could not fetch pip's wheel for $tag" "check that PyPI is reachable"
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $ORCH_TEST_PYTHON_IMAGE
COPY wheels /tmp/wheels
RUN set -- /tmp/wheels/pip-*.whl && python3 "\$1/pip" install --no-index --find-links /tmp/wheels \\
        --break-system-packages --no-cache-dir --root-user-action=ignore \\
        --disable-pip-version-check -q "$ORCH_TEST_DBT_CORE_SPEC" "$ORCH_TEST_DBT_DUCKDB_SPEC" \\
    && rm -rf /tmp/wheels
ENV DBT_SEND_ANONYMOUS_USAGE_STATS=false
CMD ["dbt", "--version"]
DOCKERFILE
    log "docker build $tag"
    DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >"$workdir/dbt-build.log" 2>&1 || {
        tail -n 20 "$workdir/dbt-build.log" >&2
        die "docker build of $tag failed (log tail above)" "fix the error above, then re-run $0"
    }
    docker run --rm "$tag" python3 -c "import dbt.adapters.duckdb, dbt.cli.main" ||
        die "the freshly built $tag cannot import dbt" "re-run with --force; see the error above"
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
build_dbt
