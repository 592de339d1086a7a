# shellcheck shell=bash
# Shared helpers for scripts/*.sh. Source it; do not run it.
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ORCH_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ORCH_REPO_ROOT
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

# Load the shared settings (image tags, pinned versions) without overriding values already
# exported by the caller, so e.g. ORCH_TEST_PYTHON_IMAGE=... ./scripts/test still works.
_orch_load_env() {
    local line key value
    while IFS= read -r line || [[ -n "$line" ]]; do
        [[ -z "$line" || "$line" == \#* ]] && continue
        key="${line%%=*}"
        value="${line#*=}"
        if [[ -z "${!key+x}" ]]; then
            printf -v "$key" '%s' "$value"
            export "${key?}"
        fi
    done <"$ORCH_REPO_ROOT/scripts/infra.env"
}
_orch_load_env

# Dagster venv location: inside the checkout unless ORCH_DAGSTER_VENV says otherwise.
: "${ORCH_DAGSTER_VENV:=$ORCH_REPO_ROOT/.venvs/dagster}"
export ORCH_DAGSTER_VENV

_orch_now() { date +%s.%N; }
_orch_elapsed() { awk -v a="$1" -v b="$(_orch_now)" 'BEGIN { printf "%.1f", b - a }'; }

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# die MESSAGE [HOW-TO-FIX]: print a clear error and exit 1.
die() {
    printf '\nERROR: %s\n' "$1" >&2
    if [[ -n "${2:-}" ]]; then printf 'How to fix: %s\n' "$2" >&2; fi
    exit 1
}

# step "description" command args...: run a step, print what it does and how long it took.
step() {
    local what="$1"; shift
    local start rc
    start="$(_orch_now)"
    log "==> $what"
    set +e
    ( set -e; "$@" )  # a subshell, so that errors inside shell functions stop the step
    rc=$?
    set -e
    if [[ $rc -ne 0 ]]; then
        log "FAILED after $(_orch_elapsed "$start")s: $what (exit $rc)"
        return "$rc"
    fi
    log "ok   $what ($(_orch_elapsed "$start")s)"
}

_orch_need_root() {
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo "$@"
        else
            die "'$*' needs root and sudo is not available" \
                "run the script as root, or install the missing packages by hand: $*"
        fi
    else
        "$@"
    fi
}

# apt_install PKG...: install the Debian packages that are missing; runs apt-get update once
# per top-level invocation (ORCH_APT_UPDATED is exported after the first update).
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    command -v apt-get >/dev/null 2>&1 ||
        die "need Debian packages ${missing[*]} but apt-get is not available" \
            "install ${missing[*]} with your system's package manager"
    export DEBIAN_FRONTEND=noninteractive
    # Update the package lists once: skip when this run (or one in the last hour) already did.
    if [[ -z "${ORCH_APT_UPDATED:-}" ]] &&
        [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Release' -mmin -60 2>/dev/null | head -1)" ]]; then
        log "apt-get update (once)"
        _orch_need_root apt-get update -qq >/dev/null ||
            die "apt-get update failed" "check that Debian's package registry is reachable"
        export ORCH_APT_UPDATED=1
    fi
    log "apt-get install ${missing[*]}"
    _orch_need_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed" \
            "run 'apt-get install -y ${missing[*]}' by hand to see the full error"
}

# pip_run PYTHON ARGS...: run "PYTHON -m pip ARGS" quietly (ORCH_VERBOSE=1 shows everything),
# dropping the "Location ... is ignored" noise that some machines' pip.conf produce.
pip_run() {
    local python="$1"; shift
    local quiet=(-q)
    [[ -n "${ORCH_VERBOSE:-}" ]] && quiet=()
    "$python" -m pip "$@" "${quiet[@]}" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

# take_lock NAME: hold an exclusive lock until the calling script exits, so two test runs on
# one machine (several engineers, or a fixture running a script during a test run) do not build
# the same image or venv at once. Waits up to ORCH_LOCK_TIMEOUT seconds (default 900).
take_lock() {
    local file="${ORCH_LOCK_DIR:-/tmp}/orchestrator-$1.lock"
    command -v flock >/dev/null 2>&1 || return 0  # util-linux missing: run unlocked
    exec 9>>"$file"
    if ! flock -n 9; then
        log "waiting for another run holding $file"
        flock -w "${ORCH_LOCK_TIMEOUT:-900}" 9 ||
            die "timed out waiting for the lock $file" \
                "another scripts/test is still setting up; wait for it, or remove $file if none runs"
    fi
}
