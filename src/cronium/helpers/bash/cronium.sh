# Cronium's runtime helpers for Bash scripts, sourced before the script runs (BASH_ENV).
#
#   data=$(cronium_input)                     # JSON
#   cronium_set_variable count 1              # VALUE as JSON: 1, false, null, {"a": 1}, "text"
#   cronium_set_variable -s note "$text"      # -s (--string): VALUE is a string, whatever it holds
#   count=$(cronium_get_variable count)       # JSON; empty output and status 1 if not set
#   cronium_output '{"ok": true}'             # or: echo '{"ok": true}' | cronium_output
#   cronium_set_condition true
#
# A VALUE is JSON when it is true, false, null, a number, or starts with {, [ or " (then it must
# be valid JSON: malformed JSON is refused, nothing stored); any other text (hello, 2024-05-01)
# is a string. Reads print JSON as the API holds it, so that jq works on them.
#
# A failure prints the API's message on stderr and returns a non-zero status: 1 for a variable
# that is not set, 2 for a bad argument or no API, 3 for an error answer. Needs curl and jq.

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
    _cronium_data "$answer"
}

# One JSON word: a literal or a number as JSON writes them (jq alone also takes NaN, 0123, .5).
_CRONIUM_WORD='true|false|null|-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?'
_CRONIUM_SCALAR="^[[:space:]]*($_CRONIUM_WORD)[[:space:]]*\$"
_CRONIUM_OPENING='^[[:space:]]*[{["]'

_cronium_value() {  # FUNCTION AS TEXT: TEXT as JSON (AS: json, or string for -s)
    local caller=$1 as=$2 text=$3
    if [[ $as == string ]]; then
        _cronium_string "$text"
    elif [[ $text =~ $_CRONIUM_SCALAR ]]; then
        printf '%s' "${BASH_REMATCH[1]}"
    elif [[ $text =~ $_CRONIUM_OPENING ]]; then
        _cronium_checked_json "$caller" "$text"
    else
        _cronium_string "$text"  # a bare word or sentence: a string
    fi
}

_cronium_string() {  # TEXT: TEXT as a JSON string (through stdin: no limit on its length)
    printf '%s' "$1" | jq -Rs .
}

_cronium_checked_json() {  # FUNCTION TEXT: TEXT as it is if it is one valid JSON value
    local caller=$1 text=$2 why
    why=$(printf '%s' "$text" | jq -Rrs 'try (fromjson | empty) catch (split(" (while parsing")[0])') \
        || why="jq could not read it"
    [[ -n $why ]] || why=$(_cronium_bad_word "$text")
    if [[ -n $why ]]; then
        _cronium_refuse "$caller" "$why"
        return 2
    fi
    printf '%s' "$text"
}

_cronium_bad_word() {  # JSON: why a word of JSON (outside its strings) is not JSON, or nothing
    local word
    word=$(printf '%s' "$1" | LC_ALL=C sed -E 's/"([^"\\]|\\.)*"/""/g' \
        | LC_ALL=C grep -oE '[^][{}:,"[:space:]]+' | LC_ALL=C grep -vxE -m1 "$_CRONIUM_WORD" || :)
    [[ -z $word ]] || printf '%s is not a JSON value: numbers are written as 12, -0.5 or 1e3' "$word"
}

_cronium_refuse() {  # FUNCTION WHY: say why a value was refused, and how to pass it as a string
    local fix="nothing was stored. Fix the JSON, or pass -s to store the text as a string: $1 -s KEY VALUE"
    [[ $1 != cronium_output ]] \
        || fix="nothing was output. Fix the JSON, or pass -s to output the text as a string: cronium_output -s VALUE"
    echo "cronium: $1: the value is not valid JSON ($2); $fix" >&2
}

_cronium_usage() {  # FUNCTION USAGE COUNT: say that FUNCTION takes USAGE, not COUNT arguments
    local hint=
    [[ $2 != *VALUE* ]] || hint=": quote a VALUE that has spaces"
    echo "cronium: $1 takes $2, not $3 argument(s)$hint" >&2
}

_cronium_data() {  # ANSWER: the "data" of a success answer, as the API wrote it (exact numbers)
    local prefix='{"success":true,"data":' data
    if [[ $1 == "$prefix"*'}' ]]; then
        data=${1#"$prefix"}
        printf '%s\n' "${data%\}}"
    else
        jq -c '.data' <<<"$1"
    fi
}

_cronium_path() { printf '/executions/%s/%s' "${CRONIUM_EXECUTION_ID-}" "$1"; }

cronium_input() {
    if [[ -z ${CRONIUM_RUNTIME_API-} && -r /run/cronium/input.json ]]; then
        jq -c . /run/cronium/input.json
        return
    fi
    _cronium_call GET "$(_cronium_path input)"
}

cronium_output() {  # [-s|--string] [VALUE] (else read from stdin)
    local as=json data
    case ${1-} in -s | --string) as=string; shift ;; esac
    [[ ${1-} != -- ]] || shift
    [[ $# -le 1 ]] || { _cronium_usage cronium_output '[-s|--string] [VALUE]' $#; return 2; }
    if [[ $# -eq 1 ]]; then data=$1; else data=$(cat); fi
    data=$(_cronium_value cronium_output "$as" "$data") || return 2
    _cronium_call POST "$(_cronium_path output)" "{\"data\": $data}" >/dev/null
}

cronium_get_variable() {  # KEY
    [[ $# -eq 1 ]] || { _cronium_usage cronium_get_variable KEY $#; return 2; }
    _cronium_call GET "$(_cronium_path "variables/$1")"
}

cronium_set_variable() {  # [-s|--string] KEY VALUE
    local as=json value
    case ${1-} in -s | --string) as=string; shift ;; esac
    [[ $# -eq 2 ]] || { _cronium_usage cronium_set_variable '[-s|--string] KEY VALUE' $#; return 2; }
    value=$(_cronium_value cronium_set_variable "$as" "$2") || return 2
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
