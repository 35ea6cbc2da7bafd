#!/bin/sh
# An agent in plain POSIX sh: one Anthropic Messages call with curl, no SDK, no jq.
#
# goalctl runs it as a `command` agent (scenarios/ticket-title-curl.md). The case document
# arrives on stdin as one line of JSON; the rendered prompts are taken out of it, still
# JSON-escaped, and put straight into the request body, so no text is ever unquoted and
# quoted again. ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY point at goalctl's model gateway,
# which meters the call and, offline, answers from the scenario's scripted `responses`.
# Pointed at https://api.anthropic.com with a real key, the same script runs for real.
#
#   echo '{"prompt": {"system": "Be brief.", "user": "Say hi"}}' | sh curl_agent.sh
set -eu

: "${ANTHROPIC_BASE_URL:?is not set: run me under goalctl, or point it at the Messages API}"
: "${ANTHROPIC_API_KEY:?is not set: run me under goalctl, or give your key}"
# The gateway answers with the scenario's model whatever is named here.
model=${AGENT_MODEL:-claude-haiku-4-5}

# A JSON string's body: characters other than quote and backslash, or escape pairs.
string='(([^"\\]|\\.)*)'
document=$(cat)
prompt="\"prompt\": *\\{ *\"system\": *\"$string\", *\"user\": *\"$string\" *\\}"
system=$(printf '%s\n' "$document" | sed -n -E "s/.*$prompt.*/\\1/p")
user=$(printf '%s\n' "$document" | sed -n -E "s/.*$prompt.*/\\3/p")
if [ -z "$user" ]; then
    echo "curl_agent: no prompt.system and prompt.user in the case document on stdin" >&2
    exit 1
fi

# -w puts the HTTP status on a line of its own after the body (one line of JSON).
response=$(printf '{"model": "%s", "max_tokens": 1024, "system": "%s", "messages": [{"role": "user", "content": "%s"}]}' \
        "$model" "$system" "$user" |
    curl --silent --show-error --max-time 120 \
        --header "x-api-key: $ANTHROPIC_API_KEY" \
        --header "anthropic-version: 2023-06-01" \
        --header "content-type: application/json" \
        --data-binary @- --write-out '\n%{http_code}' \
        "$ANTHROPIC_BASE_URL/v1/messages")
status=${response##*
}
body=${response%
*}
if [ "$status" != 200 ]; then
    # goalctl shows the tail of stderr as the case's error (a budget refusal names its
    # constraint).
    echo "curl_agent: the model call failed with HTTP $status: $body" >&2
    exit 1
fi

# The reply's text, still JSON-escaped; then \" and \/ are unescaped by sed and the rest
# (\n, \t, \\) by printf %b. Text outside ASCII arrives as \uXXXX and is left as it is: parse
# with python3 or jq when a reply can hold it.
text=$(printf '%s\n' "$body" | sed -n -E "s/.*\"text\": *\"$string\".*/\\1/p")
if [ -z "$text" ]; then
    echo "curl_agent: no text in the model's reply: $body" >&2
    exit 1
fi
printf '%b\n' "$(printf '%s\n' "$text" | sed 's/\\"/"/g; s/\\\//\//g')"
