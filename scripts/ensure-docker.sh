#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`; install and start one if not.
#
#   scripts/ensure-docker.sh
#
# - engine already answers: nothing to do (< 1 s);
# - DOCKER_HOST points at a remote engine that does not answer: fail (we never start a local
#   daemon behind a remote DOCKER_HOST's back);
# - no dockerd binary: apt-get install docker.io (Debian; needs root);
# - start dockerd in the background (setsid, log in $ORCH_DOCKERD_LOG) and wait until
#   `docker info` answers, at most $ORCH_DOCKER_TIMEOUT seconds (default 90).
# Extra daemon flags: ORCH_DOCKERD_ARGS="--storage-driver=vfs" (only when the default fails:
# the script retries with vfs by itself when the overlay2 driver cannot start).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

timeout_s="${ORCH_DOCKER_TIMEOUT:-90}"
dockerd_log="${ORCH_DOCKERD_LOG:-/var/log/orchestrator-dockerd.log}"

engine_answers() { docker info >/dev/null 2>&1; }

command -v docker >/dev/null 2>&1 || apt_install docker.io
command -v docker >/dev/null 2>&1 ||
    die "the docker client is not installed" "install Docker (Debian: apt-get install docker.io)"

if engine_answers; then
    log "docker engine answers ($(docker version --format 'server {{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
fi

if [[ -n "${DOCKER_HOST:-}" && "$DOCKER_HOST" != unix:///var/run/docker.sock && "$DOCKER_HOST" != unix:///run/docker.sock ]]; then
    die "DOCKER_HOST=$DOCKER_HOST is set but no engine answers there" \
        "start that engine, or unset DOCKER_HOST to let this script start a local dockerd"
fi

if ! command -v dockerd >/dev/null 2>&1; then
    apt_install docker.io
    command -v dockerd >/dev/null 2>&1 ||
        die "dockerd is still missing after installing docker.io" "install a Docker engine by hand"
fi
# dockerd needs these at run time; docker.io pulls them in, but a hand-made install may not.
for tool in iptables containerd runc; do
    command -v "$tool" >/dev/null 2>&1 || apt_install "$tool"
done

if [[ "$(id -u)" -ne 0 ]]; then
    die "no Docker engine answers and starting dockerd needs root" \
        "start the engine yourself (e.g. 'sudo systemctl start docker') and add your user to the docker group"
fi

pidfile="${ORCH_DOCKERD_PIDFILE:-/var/run/docker.pid}"
dockerd_running() {
    pgrep -x dockerd >/dev/null 2>&1 && return 0
    [[ -s "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

wait_for_engine() {  # wait_for_engine PID-or-empty: 0 when it answers, 1 if dockerd died, 2 on timeout
    local pid="$1" deadline=$((SECONDS + timeout_s))
    while ((SECONDS < deadline)); do
        engine_answers && return 0
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null && ! dockerd_running; then return 1; fi
        sleep 0.5
    done
    return 2
}

start_dockerd() {  # start_dockerd EXTRA-ARGS...
    mkdir -p "$(dirname "$dockerd_log")"
    log "starting dockerd $* (log: $dockerd_log)"
    # shellcheck disable=SC2086
    # 9>&-: the daemon must not inherit (and so hold forever) our lock file descriptor.
    setsid dockerd ${ORCH_DOCKERD_ARGS:-} "$@" >>"$dockerd_log" 2>&1 </dev/null 9>&- &
    DOCKERD_PID=$!
}

show_log_tail() {
    printf '\n--- last 30 lines of %s ---\n' "$dockerd_log" >&2
    tail -n 30 "$dockerd_log" >&2 || true
    printf -- '---\n' >&2
}

take_lock dockerd
if engine_answers; then log "docker engine answers (started by another run)"; exit 0; fi

if dockerd_running; then
    # A dockerd started by someone else (or a previous run) may still be coming up.
    log "a dockerd process is already running; waiting for it to answer"
    rc=0; wait_for_engine "" || rc=$?
    if [[ $rc -eq 0 ]]; then log "docker engine answers"; exit 0; fi
    show_log_tail
    die "a dockerd process is running but 'docker info' gets no answer after ${timeout_s}s" \
        "look at the log above; stop that dockerd (kill its pid: $(pgrep -x dockerd | tr '\n' ' ')) and re-run"
fi

: >"$dockerd_log" 2>/dev/null || true
start_dockerd
rc=0; wait_for_engine "$DOCKERD_PID" || rc=$?
if [[ $rc -eq 1 ]] && grep -qiE "overlay|storage.driver|graphdriver" "$dockerd_log" &&
    [[ "${ORCH_DOCKERD_ARGS:-}" != *storage-driver* ]]; then
    show_log_tail
    log "dockerd could not start with its default storage driver; retrying with --storage-driver=vfs"
    start_dockerd --storage-driver=vfs
    rc=0; wait_for_engine "$DOCKERD_PID" || rc=$?
fi
case $rc in
    0) log "docker engine answers ($(docker version --format 'server {{.Server.Version}}, ' 2>/dev/null)storage $(docker info --format '{{.Driver}}' 2>/dev/null))" ;;
    1) show_log_tail
       die "dockerd exited before answering (see its log above)" \
           "fix what the log names (cgroups, iptables, storage driver), or pass flags via ORCH_DOCKERD_ARGS" ;;
    *) show_log_tail
       die "dockerd did not answer 'docker info' within ${timeout_s}s" \
           "see the log above; raise ORCH_DOCKER_TIMEOUT if the machine is just slow" ;;
esac
