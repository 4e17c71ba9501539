# Cronium's runtime helpers for Bash scripts, sourced before the script runs (BASH_ENV).
#
#   data=$(cronium_input)                     # JSON
#   cronium_set_variable count 1              # VALUE is JSON if it parses as JSON, else a string
#   count=$(cronium_get_variable count)       # JSON; empty output and status 1 if not set
#   cronium_output '{"ok": true}'             # or: echo '{"ok": true}' | cronium_output
#   cronium_set_condition true
#
# A failure prints the API's message on stderr and returns a non-zero status. Needs curl and jq.

_cronium_token() {  # the run's token: from its file (never on a command line)
    if [[ -n ${CRONIUM_EXECUTION_TOKEN-} ]]; then
        printf '%s' "$CRONIUM_EXECUTION_TOKEN"
    elif [[ -r ${CRONIUM_EXECUTION_TOKEN_FILE-/run/cronium/token} ]]; then
        printf '%s' "$(<"${CRONIUM_EXECUTION_TOKEN_FILE-/run/cronium/token}")"
    fi
}

_cronium_call() {  # METHOD PATH [BODY]
    local method=$1 path=$2 body=${3-} socket answer status attempt
    if [[ ${CRONIUM_RUNTIME_API-} != unix://* ]]; then
        echo "cronium: there is no runtime API here (CRONIUM_RUNTIME_API is not set)" >&2
        return 2
    fi
    command -v curl >/dev/null || { echo "cronium: the helpers need curl" >&2; return 2; }
    socket=${CRONIUM_RUNTIME_API#unix://}
    for attempt in 1 2 3 4; do
        if [[ -n $body ]]; then
            answer=$(printf '%s' "$body" | curl -sS --unix-socket "$socket" -X "$method" \
                -K <(printf 'header = "Authorization: Bearer %s"\n' "$(_cronium_token)") \
                -H 'Content-Type: application/json' --data-binary @- \
                -w '\n%{http_code}' "http://localhost$path") || answer=$'\n000'
        else
            answer=$(curl -sS --unix-socket "$socket" -X "$method" \
                -K <(printf 'header = "Authorization: Bearer %s"\n' "$(_cronium_token)") \
                -w '\n%{http_code}' "http://localhost$path") || answer=$'\n000'
        fi
        status=${answer##*$'\n'}
        answer=${answer%$'\n'*}
        [[ $status == 000 || $status == 503 ]] || break
        sleep "0.$((attempt * 2))"
    done
    if [[ $status == 000 ]]; then
        echo "cronium: cannot reach the runtime API at $CRONIUM_RUNTIME_API" >&2
        return 2
    fi
    if [[ $status == 404 && $method == GET && $path == */variables/* ]]; then
        return 1  # not set: no output, status 1
    fi
    if [[ $status -ge 400 ]]; then
        echo "cronium: $(jq -r '.error.message // "the runtime API refused"' <<<"$answer" 2>/dev/null || echo "$answer") (HTTP $status)" >&2
        [[ $status == 404 ]] && return 1
        return 3
    fi
    jq -c '.data' <<<"$answer"
}

_cronium_json() {  # VALUE -> JSON (as is if it parses as JSON, else a JSON string)
    if jq -e . >/dev/null 2>&1 <<<"$1"; then jq -c . <<<"$1"; else jq -Rn --arg v "$1" '$v'; fi
}

_cronium_path() { printf '/executions/%s/%s' "${CRONIUM_EXECUTION_ID-}" "$1"; }

cronium_input() {
    if [[ -z ${CRONIUM_RUNTIME_API-} && -r /run/cronium/input.json ]]; then
        jq -c . /run/cronium/input.json
        return
    fi
    _cronium_call GET "$(_cronium_path input)"
}

cronium_output() {  # [JSON] (else read from stdin)
    local data
    if [[ $# -gt 0 ]]; then data=$1; else data=$(cat); fi
    data=$(_cronium_json "$data") || return 2
    _cronium_call POST "$(_cronium_path output)" "{\"data\": $data}" >/dev/null
}

cronium_get_variable() {  # KEY
    _cronium_call GET "$(_cronium_path "variables/$1")"
}

cronium_set_variable() {  # KEY VALUE
    local value
    value=$(_cronium_json "$2") || return 2
    _cronium_call PUT "$(_cronium_path "variables/$1")" "{\"value\": $value}" >/dev/null
}

cronium_delete_variable() {  # KEY
    _cronium_call DELETE "$(_cronium_path "variables/$1")" >/dev/null
}

cronium_list_variables() { _cronium_call GET "$(_cronium_path variables)"; }

cronium_set_condition() {  # true|false
    case $1 in
        true|false) ;;
        *) echo "cronium: the condition must be true or false, not '$1'" >&2; return 2 ;;
    esac
    _cronium_call POST "$(_cronium_path condition)" "{\"condition\": $1}" >/dev/null
}

cronium_get_condition() { _cronium_call GET "$(_cronium_path condition)"; }

cronium_event() { _cronium_call GET "$(_cronium_path context)"; }

cronium_execute_tool_action() {  # TOOL ACTION [PARAMS_JSON]
    local params=${3-'{}'}
    _cronium_call POST /tool-actions/execute \
        "$(jq -cn --arg t "$1" --arg a "$2" --argjson p "$params" '{tool: $t, action: $a, params: $p}')"
}
