# pipes.sh - POSIX shell client of the pipes protocol (wire-compatible with Dagster Pipes 0.1).
#
# Needs only a POSIX sh (dash, busybox sh, bash) and coreutils (tr, grep): no jq, no python.
# The host exports plain PIPES_* variables next to the encoded DAGSTER_PIPES_* ones
# (see docs/protocol.md, "Plain environment variables"); this file reads those.
#
#   . /path/to/pipes.sh
#   pipes_open
#   trap 'pipes_close $?' EXIT              # closed is sent even when the script fails
#   pipes_log INFO "loading $PIPES_ASSET_KEY"
#   pipes_report_materialization --meta rows int 42 --meta source url "https://x.org"
#   pipes_report_check not_empty true --severity WARN --meta nulls int 0
#
# Functions return non-zero (2) and print "pipes.sh: ..." to stderr on misuse.

PIPES_SH_VERSION=0.1.0
_PIPES_NL='
'
_PIPES_CTL=$(printf '\001\002\003\004\005\006\007\010\011\013\014\015\016\017\020\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037')
_PIPES_CTL="$_PIPES_CTL$_PIPES_NL"
_PIPES_STATE=new          # new | open | closed | noop
_PIPES_DONE=""            # newline-separated asset keys already materialized

_pipes_err() {
    printf 'pipes.sh: %s\n' "$*" >&2
    return 2
}

# _pipes_escape STRING -> sets _PIPES_J to the JSON string body (no quotes).
# Walks from one special character to the next, so plain text is copied in one step.
_pipes_escape() {
    _pe_in=$1
    _PIPES_J=
    while :; do
        case $_pe_in in
            *[\"\\$_PIPES_CTL]*) ;;
            *) _PIPES_J=$_PIPES_J$_pe_in; return 0 ;;
        esac
        _pe_pre=${_pe_in%%[\"\\$_PIPES_CTL]*}
        _pe_rest=${_pe_in#"$_pe_pre"}
        _pe_tail=${_pe_rest#?}
        _pe_c=${_pe_rest%"$_pe_tail"}
        _pe_in=$_pe_tail
        case $_pe_c in
            \") _pe_e='\"' ;;
            \\) _pe_e='\\' ;;
            "$_PIPES_NL") _pe_e='\n' ;;
            "	") _pe_e='\t' ;;
            *)
                _pe_e=$(printf '\\u%04x' "'$_pe_c")
                case $_pe_c in "$(printf '\r')") _pe_e='\r' ;; esac
                ;;
        esac
        _PIPES_J=$_PIPES_J$_pe_pre$_pe_e
    done
}

# _pipes_str STRING -> sets _PIPES_J to a quoted JSON string.
_pipes_str() {
    _pipes_escape "$1"
    _PIPES_J="\"$_PIPES_J\""
}

_pipes_is_number() {  # JSON number syntax (leading zeros refused)
    _pn=${1#-}
    case $_pn in '' | 0[0-9]*) return 1 ;; esac
    case $_pn in
        *[eE]*)
            _pn_e=${_pn#*[eE]}; _pn_e=${_pn_e#[-+]}; _pn=${_pn%%[eE]*}
            case $_pn_e in '' | *[!0-9]*) return 1 ;; esac ;;
    esac
    case $_pn in
        *.*)
            _pn_f=${_pn#*.}; _pn=${_pn%%.*}
            case $_pn_f in '' | *[!0-9]*) return 1 ;; esac ;;
    esac
    case $_pn in '' | *[!0-9]*) return 1 ;; esac
    return 0
}

_pipes_is_int() {
    case $1 in
        '' | - | *[!0-9-]* | ?*-* | -0* | 0?*) [ "$1" = 0 ] ;;
        *) return 0 ;;
    esac
}

# _pipes_write LINE: one write of LINE + newline to the channel the host chose.
_pipes_write() {
    case $_PIPES_STATE in
        noop) return 0 ;;
        closed) _pipes_err "cannot write after pipes_close"; return 2 ;;
    esac
    if [ -n "${PIPES_MESSAGES_PATH:-}" ]; then
        printf '%s\n' "$1" >>"$PIPES_MESSAGES_PATH" ||
            { _pipes_err "cannot append to PIPES_MESSAGES_PATH=$PIPES_MESSAGES_PATH"; return 2; }
    elif [ "${PIPES_MESSAGES_STDIO:-}" = stderr ]; then
        printf '%s\n' "$1" >&2
    else
        printf '%s\n' "$1"
    fi
}

_pipes_send() {  # METHOD PARAMS_JSON
    [ "$_PIPES_STATE" = closed ] && { _pipes_err "cannot send $1 after pipes_close"; return 2; }
    _pipes_write "{\"__dagster_pipes_version\": \"0.1\", \"method\": \"$1\", \"params\": $2}"
}

# pipes_open: check the environment and send "opened". Without any pipes variables it warns
# and every later call is a no-op (the script still runs outside a pipes host).
pipes_open() {
    [ "$_PIPES_STATE" = new ] || [ "$_PIPES_STATE" = closed ] ||
        { [ "$_PIPES_STATE" = open ] && return 0; }
    if [ -z "${PIPES_MESSAGES_PATH:-}" ] && [ -z "${PIPES_MESSAGES_STDIO:-}" ]; then
        if [ -n "${DAGSTER_PIPES_CONTEXT:-}" ]; then
            _pipes_err "DAGSTER_PIPES_CONTEXT is set but PIPES_MESSAGES_PATH/PIPES_MESSAGES_STDIO are not: the host must export the plain PIPES_* variables (pipes_protocol.plain_env_vars), or the channel is one a shell cannot write (blob store)"
            return 2
        fi
        printf 'pipes.sh: warning: not launched by a pipes host (no PIPES_MESSAGES_PATH or PIPES_MESSAGES_STDIO); pipes calls are no-ops\n' >&2
        _PIPES_STATE=noop
        return 0
    fi
    case ${PIPES_MESSAGES_STDIO:-stdout} in
        stdout | stderr) ;;
        *) _pipes_err "PIPES_MESSAGES_STDIO must be stdout or stderr, got '$PIPES_MESSAGES_STDIO'"; return 2 ;;
    esac
    _PIPES_STATE=open
    _PIPES_DONE=
    _pipes_send opened "{\"extras\": {\"pipes_client\": {\"language\": \"sh\", \"version\": \"$PIPES_SH_VERSION\", \"features\": [\"progress\"]}}}"
}

# pipes_close [EXIT_CODE]: send "closed" (with an exception when EXIT_CODE is non-zero). Idempotent.
pipes_close() {
    case $_PIPES_STATE in
        open) ;;
        *) return 0 ;;
    esac
    _pc_code=${1:-0}
    if [ "$_pc_code" = 0 ]; then
        _pipes_send closed '{}'
    else
        _pipes_str "script exited with status $_pc_code"
        _pipes_send closed "{\"exception\": {\"name\": \"NonZeroExit\", \"message\": $_PIPES_J, \"stack\": [], \"cause\": null, \"context\": null}}"
    fi
    _PIPES_STATE=closed
}

# pipes_log LEVEL MESSAGE   (LEVEL: DEBUG INFO WARNING ERROR CRITICAL, any case; WARN, FATAL)
pipes_log() {
    [ $# -eq 2 ] || { _pipes_err "usage: pipes_log LEVEL MESSAGE"; return 2; }
    _pl_level=$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')
    case $_pl_level in
        DEBUG | INFO | WARNING | ERROR | CRITICAL) ;;
        WARN) _pl_level=WARNING ;;
        FATAL) _pl_level=CRITICAL ;;
        *) _pipes_err "pipes_log: level '$1' is not one of DEBUG INFO WARNING ERROR CRITICAL"; return 2 ;;
    esac
    _pipes_str "$2"
    _pipes_send log "{\"message\": $_PIPES_J, \"level\": \"$_pl_level\"}"
}

# _pipes_meta_entry NAME TYPE VALUE -> appends '"NAME": {...}' to _PIPES_META
_pipes_meta_entry() {
    _pm_name=$1 _pm_type=$2 _pm_value=$3
    case $_pm_type in
        text | url | path | notebook | md | dagster_run | asset)
            _pipes_str "$_pm_value"; _pm_raw=$_PIPES_J ;;
        int)
            _pipes_is_int "$_pm_value" ||
                { _pipes_err "metadata '$_pm_name' of type int needs an integer, got '$_pm_value'"; return 2; }
            _pm_raw=$_pm_value ;;
        float | timestamp)
            case $_pm_value in
                NaN | nan) _pm_raw=NaN ;;
                Infinity | inf | +Infinity) _pm_raw=Infinity ;;
                -Infinity | -inf) _pm_raw=-Infinity ;;
                *)
                    _pipes_is_number "$_pm_value" ||
                        { _pipes_err "metadata '$_pm_name' of type $_pm_type needs a number, got '$_pm_value'"; return 2; }
                    _pm_raw=$_pm_value
                    # a float must look like one, or a strict host reads an int
                    [ "$_pm_type" = float ] && _pipes_is_int "$_pm_value" && _pm_raw=$_pm_value.0
                    ;;
            esac ;;
        bool)
            case $_pm_value in
                true | false) _pm_raw=$_pm_value ;;
                *) _pipes_err "metadata '$_pm_name' of type bool needs true or false, got '$_pm_value'"; return 2 ;;
            esac ;;
        null) _pm_raw=null ;;
        json | table | table_schema | table_column_lineage)
            [ -n "$_pm_value" ] || { _pipes_err "metadata '$_pm_name' of type $_pm_type needs JSON text"; return 2; }
            _pm_raw=$_pm_value ;;
        *)
            _pipes_err "metadata '$_pm_name': unknown type '$_pm_type' (text url path notebook md dagster_run int float bool timestamp json null asset table table_schema table_column_lineage)"
            return 2 ;;
    esac
    _pipes_str "$_pm_name"
    [ -n "$_PIPES_META" ] && _PIPES_META="$_PIPES_META, "
    _PIPES_META="$_PIPES_META$_PIPES_J: {\"type\": \"$_pm_type\", \"raw_value\": $_pm_raw}"
}

# _pipes_asset FUNCTION [KEY] -> sets _PIPES_ASSET (escaped key) after checking the scope
_pipes_asset() {
    if [ -z "${2:-}" ]; then
        if [ -n "${PIPES_ASSET_KEY:-}" ]; then
            _PIPES_ASSET=$PIPES_ASSET_KEY
            return 0
        fi
        _pipes_err "$1: pass --asset KEY (asset_key): the host put $(printf '%s\n' "${PIPES_ASSET_KEYS:-}" | grep -c .) assets in scope"
        return 2
    fi
    if [ -n "${PIPES_ASSET_KEYS:-}" ]; then
        case "$_PIPES_NL$PIPES_ASSET_KEYS$_PIPES_NL" in
            *"$_PIPES_NL$2$_PIPES_NL"*) ;;
            *) _pipes_err "$1: asset key '$2' is not in scope; the host selected: $(printf '%s' "$PIPES_ASSET_KEYS" | tr '\n' ' ')"; return 2 ;;
        esac
    fi
    _PIPES_ASSET=$2
}

# pipes_report_materialization [--asset KEY] [--data-version V] [--meta NAME TYPE VALUE]...
pipes_report_materialization() {
    _rm_asset= _rm_dv=null _PIPES_META=
    while [ $# -gt 0 ]; do
        case $1 in
            --asset) [ $# -ge 2 ] || { _pipes_err "--asset needs a KEY"; return 2; }; _rm_asset=$2; shift 2 ;;
            --data-version) [ $# -ge 2 ] || { _pipes_err "--data-version needs a value"; return 2; }
                _pipes_str "$2"; _rm_dv=$_PIPES_J; shift 2 ;;
            --meta) [ $# -ge 4 ] || { _pipes_err "--meta needs NAME TYPE VALUE"; return 2; }
                _pipes_meta_entry "$2" "$3" "$4" || return 2; shift 4 ;;
            *) _pipes_err "pipes_report_materialization: unknown argument '$1' (use --asset, --data-version, --meta)"; return 2 ;;
        esac
    done
    _pipes_asset pipes_report_materialization "$_rm_asset" || return 2
    [ "$_PIPES_STATE" = noop ] || case "$_PIPES_NL$_PIPES_DONE" in
        *"$_PIPES_NL$_PIPES_ASSET$_PIPES_NL"*)
            _pipes_err "pipes_report_materialization: asset '$_PIPES_ASSET' was already reported as materialized"
            return 2 ;;
    esac
    _pipes_str "$_PIPES_ASSET"
    _rm_meta=null
    [ -n "$_PIPES_META" ] && _rm_meta="{$_PIPES_META}"
    _pipes_send report_asset_materialization "{\"asset_key\": $_PIPES_J, \"data_version\": $_rm_dv, \"metadata\": $_rm_meta}" || return 2
    _PIPES_DONE="$_PIPES_DONE$_PIPES_ASSET$_PIPES_NL"
}

# pipes_report_check CHECK_NAME true|false [--severity WARN|ERROR] [--asset KEY] [--meta N T V]...
#   (also: --check NAME, --passed, --failed)
pipes_report_check() {
    _rc_name= _rc_passed= _rc_sev=ERROR _rc_asset= _PIPES_META=
    if [ $# -ge 2 ] && [ "${1#--}" = "$1" ]; then
        _rc_name=$1 _rc_passed=$2
        shift 2
    fi
    while [ $# -gt 0 ]; do
        case $1 in
            --check) _rc_name=${2:-}; shift 2 || return 2 ;;
            --passed) _rc_passed=true; shift ;;
            --failed) _rc_passed=false; shift ;;
            --severity) _rc_sev=$(printf '%s' "${2:-}" | tr '[:lower:]' '[:upper:]'); shift 2 || return 2 ;;
            --asset) _rc_asset=${2:-}; shift 2 || return 2 ;;
            --meta) [ $# -ge 4 ] || { _pipes_err "--meta needs NAME TYPE VALUE"; return 2; }
                _pipes_meta_entry "$2" "$3" "$4" || return 2; shift 4 ;;
            *) _pipes_err "pipes_report_check: unknown argument '$1' (usage: pipes_report_check CHECK_NAME true|false [--severity WARN|ERROR] [--asset KEY] [--meta NAME TYPE VALUE]...)"; return 2 ;;
        esac
    done
    [ -n "$_rc_name" ] || { _pipes_err "pipes_report_check: usage: pipes_report_check CHECK_NAME true|false [options]"; return 2; }
    case $_rc_passed in
        true | false) ;;
        *) _pipes_err "pipes_report_check: passed must be true or false, got '$_rc_passed'"; return 2 ;;
    esac
    case $_rc_sev in
        WARN | ERROR) ;;
        *) _pipes_err "pipes_report_check: severity must be WARN or ERROR, got '$_rc_sev'"; return 2 ;;
    esac
    _pipes_asset pipes_report_check "$_rc_asset" || return 2
    _pipes_str "$_PIPES_ASSET"; _rc_key=$_PIPES_J
    _pipes_str "$_rc_name"
    _rc_meta=null
    [ -n "$_PIPES_META" ] && _rc_meta="{$_PIPES_META}"
    _pipes_send report_asset_check "{\"asset_key\": $_rc_key, \"check_name\": $_PIPES_J, \"passed\": $_rc_passed, \"severity\": \"$_rc_sev\", \"metadata\": $_rc_meta}"
}

# pipes_report_custom JSON_PAYLOAD
pipes_report_custom() {
    [ $# -eq 1 ] && [ -n "$1" ] || { _pipes_err "usage: pipes_report_custom JSON"; return 2; }
    _pipes_send report_custom_message "{\"payload\": $1}"
}

# pipes_progress CURRENT [TOTAL] [MESSAGE]: sent only when the host advertises "progress".
pipes_progress() {
    case ",${PIPES_FEATURES:-}," in *,progress,*) ;; *) return 0 ;; esac
    _pipes_is_number "${1:-}" || { _pipes_err "pipes_progress: CURRENT must be a number, got '${1:-}'"; return 2; }
    _pp_total=null
    if [ -n "${2:-}" ]; then
        _pipes_is_number "$2" || { _pipes_err "pipes_progress: TOTAL must be a number, got '$2'"; return 2; }
        _pp_total=$2
    fi
    _pp_msg=null
    if [ -n "${3:-}" ]; then _pipes_str "$3"; _pp_msg=$_PIPES_J; fi
    _pipes_send progress "{\"asset_key\": null, \"current\": $1, \"total\": $_pp_total, \"message\": $_pp_msg}"
}
