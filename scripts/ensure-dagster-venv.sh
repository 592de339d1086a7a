#!/usr/bin/env bash
# Create the Dagster virtualenv used by compatibility tests and benchmarks, if missing or stale.
#
#   scripts/ensure-dagster-venv.sh            # create/repair $ORCH_DAGSTER_VENV (.venvs/dagster)
#   ORCH_DAGSTER_VENV=/cache/dagster scripts/ensure-dagster-venv.sh
#
# Pins come from scripts/infra.env. A stamp file records the pins that were installed and
# verified by importing dagster, dagster_pipes and dagster_dbt; a second run with the same pins
# and the same installed versions does nothing (< 1 s).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

venv="$ORCH_DAGSTER_VENV"
py="$venv/bin/python"
stamp="$venv/.orchestrator-pins"
want="dagster==$DAGSTER_VERSION dagster-pipes==$DAGSTER_PIPES_VERSION dagster-dbt==$DAGSTER_DBT_VERSION $DAGSTER_VENV_DBT_CORE_SPEC $DAGSTER_VENV_DBT_DUCKDB_SPEC"
base_python="${ORCH_VENV_BASE_PYTHON:-python3}"

installed_versions() {
    "$py" - <<'PY' 2>/dev/null
from importlib.metadata import version
print(" ".join(f"{d}=={version(d)}" for d in ("dagster", "dagster-pipes", "dagster-dbt")))
PY
}

expected_versions="dagster==$DAGSTER_VERSION dagster-pipes==$DAGSTER_PIPES_VERSION dagster-dbt==$DAGSTER_DBT_VERSION"

venv_current() {
    [[ -x "$py" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
        [[ "$(installed_versions)" == "$expected_versions" ]]
}

if venv_current; then
    log "dagster venv up to date: $venv ($expected_versions)"
    exit 0
fi
take_lock "venv-$(printf '%s' "$venv" | cksum | cut -d' ' -f1)"
if venv_current; then  # another run finished it while we waited for the lock
    log "dagster venv up to date: $venv ($expected_versions)"
    exit 0
fi

if [[ -x "$py" ]] && ! "$py" -c "pass" >/dev/null 2>&1; then
    log "the venv's python at $py does not run (its base Python moved?); recreating"
    rm -rf "$venv"
fi
if [[ -x "$py" ]]; then
    log "dagster venv at $venv is stale or incomplete (have: $(installed_versions || echo '?')); repairing"
else
    command -v "$base_python" >/dev/null 2>&1 ||
        die "cannot create the dagster venv: '$base_python' not found" \
            "install Python 3.10-3.13 or set ORCH_VENV_BASE_PYTHON to a Python executable"
    log "creating venv $venv with $("$base_python" --version 2>&1)"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$base_python" -m venv "$venv" ||
        die "'$base_python -m venv $venv' failed" \
            "install the venv module (Debian: apt-get install python3-venv) or set ORCH_VENV_BASE_PYTHON"
fi
rm -f "$stamp"

# dagster-dbt's other requirements, read from its own wheel metadata, minus its exact dagster pin
# (PyPI has no dagster-dbt release that declares dagster==$DAGSTER_VERSION).
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pip_run "$py" download --no-deps -d "$tmp" "dagster-dbt==$DAGSTER_DBT_VERSION" ||
    die "could not download dagster-dbt==$DAGSTER_DBT_VERSION" \
        "check that PyPI is reachable, or change DAGSTER_DBT_VERSION in scripts/infra.env"
mapfile -t dbt_deps < <("$py" - "$tmp"/dagster_dbt-*.whl <<'PY'
import sys, zipfile
from email.parser import Parser
with zipfile.ZipFile(sys.argv[1]) as zf:
    name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
    meta = Parser().parsestr(zf.read(name).decode())
for req in meta.get_all("Requires-Dist") or []:
    head = req.split(";")[0].strip()
    if "extra ==" in req or head.replace(" ", "").startswith("dagster=="):
        continue
    print(head)
PY
)

log "pip install $expected_versions (+ ${dbt_deps[*]}) and dbt"
pip_run "$py" install --upgrade pip >/dev/null 2>&1 || true
pip_run "$py" install \
    "dagster==$DAGSTER_VERSION" "dagster-pipes==$DAGSTER_PIPES_VERSION" \
    "$DAGSTER_VENV_DBT_CORE_SPEC" "$DAGSTER_VENV_DBT_DUCKDB_SPEC" "${dbt_deps[@]}" ||
    die "pip install into $venv failed" \
        "re-run with ORCH_VERBOSE=1 for pip's full output; delete $venv to start over"
pip_run "$py" install --no-deps "$tmp"/dagster_dbt-*.whl ||
    die "pip install dagster-dbt==$DAGSTER_DBT_VERSION into $venv failed" \
        "re-run with ORCH_VERBOSE=1; delete $venv to start over"

got="$(installed_versions || true)"
[[ "$got" == "$expected_versions" ]] ||
    die "dagster venv has '$got', expected '$expected_versions'" "delete $venv and re-run $0"
"$py" -W "ignore:Found version mismatch" -c "import dagster, dagster_pipes, dagster_dbt, dbt.version" ||
    die "the dagster venv at $venv cannot import dagster, dagster_pipes, dagster_dbt and dbt" \
        "see the traceback above; delete $venv and re-run $0"
printf '%s' "$want" >"$stamp"
log "dagster venv ready: $venv ($got; $("$py" -c 'import dbt.version as v; print("dbt-core", v.__version__)'))"
