# Cronium's runtime helpers for Bash scripts, sourced before the script runs (BASH_ENV), and
# at /usr/local/bin/cronium.sh for scripts that source them (sourcing again does nothing).
#
#   data=$(cronium_input)                     # JSON
#   cronium_set_variable count 1              # VALUE as JSON: 1, false, null, {"a": 1}, "text"
#   cronium_set_variable -s note "$text"      # -s (--string): VALUE is a string, whatever it holds
#   note=$(cronium_get_variable note)         # a string as its text, anything else as JSON;
#                                             # empty output and status 1 if not set
#   cronium_output '{"ok": true}'             # or: echo '{"ok": true}' | cronium_output
#   cronium_set_condition true                # or 1/0, yes/no, on/off
#   cronium_send_slack_message '#ops' "done"  # through one of the owner's tools; prints the delivery
#
# A VALUE is JSON when it is true, false, null, a number, or starts with {, [ or " (then it must
# be valid JSON: malformed JSON is refused, nothing stored); any other text (hello, 2024-05-01)
# is a string. Reads print JSON as the API holds it, so that jq works on them (but
# cronium_get_variable prints a string as its text; -j or --json prints its JSON).
#
# A failure prints the API's message on stderr and returns a non-zero status: 1 for a variable
# that is not set, 2 for a bad argument or no API, 3 for an error answer, 4 when the API did not
# answer in time (never retried: the call may have been done). Needs curl and jq.

[[ ${_CRONIUM_HELPERS-} != loaded ]] || return 0
_CRONIUM_HELPERS=loaded
_CRONIUM_TIMEOUT=60
_CRONIUM_TOOL_ACTION_TIMEOUT=300  # a tool action waits for the delivery, retries included

_cronium_token() {  # the run's token: from its file (never on a command line)
    if [[ -n ${CRONIUM_EXECUTION_TOKEN-} ]]; then
        printf '%s' "$CRONIUM_EXECUTION_TOKEN"
    elif [[ -r ${CRONIUM_EXECUTION_TOKEN_FILE-/run/cronium/token} ]]; then
        printf '%s' "$(<"${CRONIUM_EXECUTION_TOKEN_FILE-/run/cronium/token}")"
    fi
}

_cronium_call() {  # METHOD PATH [BODY [TIMEOUT]]
    local method=$1 path=$2 body=${3-} timeout=${4-$_CRONIUM_TIMEOUT} socket answer status
    local attempt code
    if [[ ${CRONIUM_RUNTIME_API-} != unix://* ]]; then
        echo "cronium: there is no runtime API here (CRONIUM_RUNTIME_API is not set)" >&2
        return 2
    fi
    command -v curl >/dev/null || { echo "cronium: the helpers need curl" >&2; return 2; }
    socket=${CRONIUM_RUNTIME_API#unix://}
    for attempt in 1 2 3 4; do
        code=0
        if [[ -n $body ]]; then
            answer=$(printf '%s' "$body" | curl -sS --unix-socket "$socket" -X "$method" \
                -K <(printf 'header = "Authorization: Bearer %s"\n' "$(_cronium_token)") \
                -H 'Content-Type: application/json' --data-binary @- --max-time "$timeout" \
                -w '\n%{http_code}' "http://localhost$path") || code=$?
        else
            answer=$(curl -sS --unix-socket "$socket" -X "$method" --max-time "$timeout" \
                -K <(printf 'header = "Authorization: Bearer %s"\n' "$(_cronium_token)") \
                -w '\n%{http_code}' "http://localhost$path") || code=$?
        fi
        if [[ $code == 28 ]]; then
            echo "cronium: the runtime API did not answer $method $path within $timeout s" >&2
            return 4
        fi
        [[ $code == 0 ]] || answer=$'\n000'
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
        [[ $status == 404 && $path == */variables/* ]] && return 1  # not set
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

cronium_get_variable() {  # [-j|--json] KEY: a string as its text (as jq -r), anything else as JSON
    local as=text value
    case ${1-} in -j | --json) as=json; shift ;; esac
    [[ $# -eq 1 ]] || { _cronium_usage cronium_get_variable '[-j|--json] KEY' $#; return 2; }
    value=$(_cronium_call GET "$(_cronium_path "variables/$1")") || return
    if [[ $as == json || $value != '"'* ]]; then
        printf '%s\n' "$value"
    elif [[ $value =~ ^\"[^\"\\]*\"$ ]]; then
        printf '%s\n' "${value:1:${#value}-2}"  # no escapes: no need for jq
    else
        jq -r . <<<"$value"
    fi
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

cronium_variable_exists() {  # KEY: status 0 if the variable is set, 1 if not; no output
    [[ $# -eq 1 ]] || { _cronium_usage cronium_variable_exists KEY $#; return 2; }
    _cronium_call GET "$(_cronium_path "variables/$1")" >/dev/null
}

_CRONIUM_NUMBER='^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$'

cronium_increment_variable() {  # KEY [N]: add N (default 1) to a number (not set: 0); prints it
    local key=${1-} by=${2-1} current status=0 sum
    [[ $# -ge 1 && $# -le 2 ]] || { _cronium_usage cronium_increment_variable 'KEY [N]' $#; return 2; }
    if [[ ! $by =~ $_CRONIUM_NUMBER ]]; then
        echo "cronium: cronium_increment_variable: N must be a number, not '$by'" >&2
        return 2
    fi
    current=$(_cronium_call GET "$(_cronium_path "variables/$key")") || status=$?
    case $status in 0) ;; 1) current=0 ;; *) return "$status" ;; esac
    if [[ ! $current =~ $_CRONIUM_NUMBER ]]; then
        echo "cronium: cronium_increment_variable: variable '$key' holds a value of type $(jq -r type <<<"$current"), not a number; nothing was stored" >&2
        return 2
    fi
    if [[ $current =~ ^-?[0-9]{1,18}$ && $by =~ ^-?[0-9]{1,18}$ ]]; then
        sum=$((current + by))  # exact: 64-bit integers
    else
        sum=$(jq -n "$current + $by")
    fi
    _cronium_call PUT "$(_cronium_path "variables/$key")" "{\"value\": $sum}" >/dev/null || return
    printf '%s\n' "$sum"
}

cronium_append_variable() {  # KEY TEXT [SEPARATOR]: TEXT added to a string variable, after
    # SEPARATOR (default none) unless it was empty or not set; a number or boolean counts as
    # its JSON text, an array or object is refused
    local key=${1-} current status=0 value
    [[ $# -ge 2 && $# -le 3 ]] || { _cronium_usage cronium_append_variable 'KEY TEXT [SEPARATOR]' $#; return 2; }
    current=$(_cronium_call GET "$(_cronium_path "variables/$key")") || status=$?
    case $status in 0) ;; 1) current=null ;; *) return "$status" ;; esac
    # the texts through files, not arguments: no limit on their length
    value=$(jq -c --rawfile text <(printf '%s' "$2") --rawfile separator <(printf '%s' "${3-}") '
        if . == null or . == "" then $text
        elif type == "string" then . + $separator + $text
        elif type == "number" or type == "boolean" then tojson + $separator + $text
        else error("holds an \(type), not a string") end' <<<"$current" 2>&1) || {
        echo "cronium: cronium_append_variable: variable '$key' ${value#jq: error (at <stdin>:*): }; nothing was stored" >&2
        return 2
    }
    _cronium_call PUT "$(_cronium_path "variables/$key")" "{\"value\": $value}" >/dev/null
}

cronium_set_condition() {  # true|false (or 1|0, yes|no, on|off, in any case)
    local given=${1-} condition
    case ${given,,} in
        true | 1 | yes | on) condition=true ;;
        false | 0 | no | off) condition=false ;;
        *)
            echo "cronium: the condition must be true or false (or 1/0, yes/no, on/off), not '$given'" >&2
            return 2
            ;;
    esac
    _cronium_call POST "$(_cronium_path condition)" "{\"condition\": $condition}" >/dev/null
}

cronium_get_condition() { _cronium_call GET "$(_cronium_path condition)"; }

cronium_event() { _cronium_call GET "$(_cronium_path context)"; }

cronium_event_field() {  # FIELD: one field of the context (a dotted path: metadata.attempt), a
    # string as its text and anything else as JSON; status 1 if there is no such field
    local context
    [[ $# -eq 1 ]] || { _cronium_usage cronium_event_field FIELD $#; return 2; }
    context=$(cronium_event) || return
    jq -r --arg path "$1" '($path | split(".")) as $at
        | if any(paths; . == $at) then getpath($at) | if type == "string" then . else tojson end
          else "" | halt_error(1) end' <<<"$context"
}

cronium_info() {  # the run's context, one "key: value" line each
    local context
    context=$(cronium_event) || return
    jq -r 'to_entries[] | "\(.key): \(.value | if type == "string" then . else tojson end)"' \
        <<<"$context"
}

_cronium_options() {  # FUNCTION JSON: JSON if it is an object, else say why not
    if ! jq -e 'type == "object"' <<<"$2" >/dev/null 2>&1; then
        echo "cronium: $1: the options must be a JSON object, not '$2'" >&2
        return 2
    fi
}

_cronium_send() {  # FUNCTION KIND ACTION PARAMS_JSON [OPTIONS_JSON]: the options merged into
    # the params; "tool" among them names the tool to use in place of the kind's
    local caller=$1 kind=$2 action=$3 params=$4 options=${5-'{}'} body
    _cronium_options "$caller" "$options" || return
    # "html": true (Cronium's --html): the body is the HTML
    body=$(jq -c --arg kind "$kind" --arg action "$action" --argjson options "$options" '
        {tool: ($options.tool // $kind), action: $action, params: (. + ($options | del(.tool)))}
        | if .params.html == true then .params.html = .params.body | del(.params.body) else . end' \
        <<<"$params") || return 2
    _cronium_call POST /tool-actions/execute "$body" "$_CRONIUM_TOOL_ACTION_TIMEOUT"
}

_cronium_flags() {  # FLAG... : Cronium's flags (--cc a,b --html...) as a JSON object of options
    local options='{}' name
    while [[ $# -gt 0 ]]; do
        case $1 in
            --cc | --bcc)
                name=${1#--}
                options=$(jq -c --arg n "$name" --arg v "${2-}" \
                    '.[$n] = ($v | split(",") | map(gsub("^ +| +$"; "")))' <<<"$options")
                shift 2 ;;
            --html) options=$(jq -c '.html = true' <<<"$options"); shift ;;
            --username | --icon-emoji | --icon-url)
                name=${1#--}
                options=$(jq -c --arg n "${name//-/_}" --arg v "${2-}" '.[$n] = $v' <<<"$options")
                shift 2 ;;
            --embed)
                options=$(jq -c --argjson e "${2-null}" '.embeds = [$e]' <<<"$options") || return 2
                shift 2 ;;
            *) echo "cronium: unknown option '$1'" >&2; return 2 ;;
        esac
    done
    printf '%s' "$options"
}

_cronium_send_with() {  # FUNCTION KIND ACTION PARAMS_JSON [OPTIONS_JSON | FLAG...]
    local caller=$1 kind=$2 action=$3 params=$4 options
    shift 4
    if [[ $# -eq 0 || $1 == -* ]]; then
        options=$(_cronium_flags "$@") || return 2
    elif [[ $# -eq 1 ]]; then
        options=$1
    else
        echo "cronium: $caller takes one OPTIONS_JSON after its arguments, not $# more" >&2
        return 2
    fi
    _cronium_send "$caller" "$kind" "$action" "$params" "$options"
}

cronium_send_email() {  # TO SUBJECT BODY [OPTIONS_JSON | --cc A,B --bcc C --html]
    [[ $# -ge 3 ]] || { _cronium_usage cronium_send_email 'TO SUBJECT BODY [OPTIONS_JSON]' $#; return 2; }
    local params
    params=$(jq -cn --arg to "$1" --arg subject "$2" --rawfile body <(printf '%s' "$3") \
        '{to: $to, subject: $subject, body: $body}')
    _cronium_send_with cronium_send_email email send_email "$params" "${@:4}"
}

cronium_send_slack_message() {  # CHANNEL TEXT [OPTIONS_JSON | --username U --icon-emoji E]
    [[ $# -ge 2 ]] || { _cronium_usage cronium_send_slack_message 'CHANNEL TEXT [OPTIONS_JSON]' $#; return 2; }
    local params
    params=$(jq -cn --arg channel "$1" --rawfile text <(printf '%s' "$2") \
        '{channel: $channel, text: $text}')
    _cronium_send_with cronium_send_slack_message slack send_message "$params" "${@:3}"
}

cronium_send_discord_message() {  # CHANNEL_ID CONTENT [OPTIONS_JSON | --embed JSON]
    [[ $# -ge 2 ]] || { _cronium_usage cronium_send_discord_message 'CHANNEL_ID CONTENT [OPTIONS_JSON]' $#; return 2; }
    local params
    params=$(jq -cn --arg id "$1" --rawfile content <(printf '%s' "$2") \
        '{channel_id: $id, content: $content}')
    _cronium_send_with cronium_send_discord_message discord send_message "$params" "${@:3}"
}

cronium_execute_tool_action() {  # TOOL ACTION [PARAMS_JSON]
    [[ $# -ge 2 && $# -le 3 ]] || { _cronium_usage cronium_execute_tool_action 'TOOL ACTION [PARAMS_JSON]' $#; return 2; }
    local params=${3-'{}'} body
    _cronium_options cronium_execute_tool_action "$params" || return
    body=$(jq -cn --arg t "$1" --arg a "$2" --argjson p "$params" '{tool: $t, action: $a, params: $p}')
    _cronium_call POST /tool-actions/execute "$body" "$_CRONIUM_TOOL_ACTION_TIMEOUT"
}

# The camelCase names.
cronium_getVariable() { cronium_get_variable "$@"; }
cronium_setVariable() { cronium_set_variable "$@"; }
cronium_getCondition() { cronium_get_condition "$@"; }
cronium_setCondition() { cronium_set_condition "$@"; }
