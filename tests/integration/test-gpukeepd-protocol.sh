#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The control protocol against the real daemon: malformed, unknown, oversized and half-sent
# requests get an error (or a drop) and change nothing; a stalled client is dropped at its
# deadline while others are served; 60 clients at once are all answered; the connection caps
# hold; and clients that send a request and vanish (SIGPIPE bait) do not kill the daemon.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/gkd-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/gkd-lib.sh"

ROOT=$(gkd_root hgx-8gpu)
ALL="$(gkd_all_gpus 8) nvidiactl"

gkd_start "$ROOT" --client-timeout 2 --max-clients 100 --max-clients-per-uid 4
gk_result $? "daemon starts"
gkd_expect_held "holds every GPU" "$ROOT" "$ALL"

# error_reply DESCRIPTION LINE CODE: the daemon answers LINE with error CODE.
error_reply()
{
	local r
	r=$(gkc call "$GKD_SOCK" "$2")
	gkd_json_check "$1: $3" "$r" "r[\"version\"] == 1 and r[\"ok\"] is False and r[\"error\"] == \"$3\" and len(r[\"message\"]) > 10"
}
error_reply "not JSON" 'hello' bad-request
error_reply "truncated JSON" '{"version":1,"request":' bad-request
error_reply "an array" '[1]' bad-request
error_reply "trailing data" '{"version":1,"request":"list"} x' bad-request
# issue 15, defect 3: what json-c alone lets through
error_reply "a duplicate key (the last one won: release-all ran)" \
	'{"version":1,"request":"list","request":"release-all"}' bad-request
gkd_expect_held "... and nothing was released" "$ROOT" "$ALL"
error_reply "\\u0000 in a string (\"list\\u0000\" ran list)" \
	'{"version":1,"request":"list\u0000"}' bad-request
error_reply "a 28-digit id" '{"version":1,"request":"list","id":1234567890123456789012345678}' \
	bad-request
R=$(printf '{"version":1,"request":"li\xffst"}\n' | gkc raw "$GKD_SOCK")
gkd_json_check "invalid UTF-8: refused, and the reply is valid JSON" "$R" \
	'r["error"] == "bad-request" and "UTF-8" in r["message"]'
error_reply "no version" '{"request":"list"}' bad-request
error_reply "version 2" '{"version":2,"request":"list"}' unsupported-version
error_reply "unknown request" '{"version":1,"request":"format-disk"}' unknown-request
error_reply "unknown field" '{"version":1,"request":"set-persistence","enabled":false,"force":1}' \
	bad-request
error_reply "enabled not a bool" '{"version":1,"request":"set-persistence","enabled":"no"}' \
	bad-request
error_reply "malformed PCI address" \
	'{"version":1,"request":"set-persistence","gpu":"0000:3a:00.9","enabled":false}' bad-request
error_reply "unknown GPU (PCI)" \
	'{"version":1,"request":"set-persistence","gpu":"0000:3b:00.0","enabled":false}' unknown-gpu
error_reply "unknown GPU (UUID)" \
	'{"version":1,"request":"set-persistence","gpu":"GPU-00000000-0000-0000-0000-000000000000","enabled":false}' \
	unknown-gpu
error_reply "deep nesting" '{"version":1,"request":"list","id":{"a":{"b":{"c":{}}}}}' bad-request
gkd_expect_held "none of the bad requests changed anything" "$ROOT" "$ALL"

# One connection keeps working after errors: bad line, good line, bad line, good line.
OUT=$(gkc call "$GKD_SOCK" 'x' '{"version":1,"request":"status","id":1}' '{' \
	'{"version":1,"request":"list","id":2}')
gk_check "a connection survives bad lines" -- test "$(echo "$OUT" | grep -c '"ok":true')" = 2
# Pipelined requests in one write are answered in order.
OUT=$(printf '%s\n%s\n' '{"version":1,"request":"status","id":"a"}' \
	'{"version":1,"request":"list","id":"b"}' | gkc raw "$GKD_SOCK")
gk_check "pipelined requests answered in order" -- \
	test "$(echo "$OUT" | python3 -c 'import json,sys; print(",".join(json.loads(l)["id"] for l in sys.stdin))')" = "a,b"

gk_check "an oversized line gets line-too-long, then a close" -- gkc oversized "$GKD_SOCK"
gkc midway "$GKD_SOCK" 50
gk_result $? "50 clients disconnect mid-request"
gkd_expect_held "half-sent set-persistence requests changed nothing" "$ROOT" "$ALL"

gk_check "a stalled client is dropped at its deadline; others are served" -- \
	gkc slow "$GKD_SOCK" 2

gkc rude "$GKD_SOCK" 300
gk_result $? "300 clients send a request and close at once"
gk_check "the daemon survives (no SIGPIPE death)" -- kill -0 "$GKD_PID"
R=$(gkc call "$GKD_SOCK" '{"version":1,"request":"status"}')
gkd_json_check "... and still answers" "$R" 'r["ok"] and r["daemon"]["held"] == 8'

gk_check "60 concurrent clients are all answered" -- gkc concurrent "$GKD_SOCK" 60

# Caps: 100 in all (root is exempt from the per-uid cap of 4, so use another uid).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	OUT=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 - "$GKD_SOCK" <<'EOF'
import json, select, socket, sys, time
socks = []
for i in range(6):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sys.argv[1])
    socks.append(s)
time.sleep(0.5)
for i, s in enumerate(socks):
    if select.select([s], [], [], 0)[0]:
        line = s.makefile().readline()
    else:
        s.sendall(b'{"version":1,"request":"status"}\n')
        line = s.makefile().readline()
    r = json.loads(line or "{}")
    print(i, r.get("ok"), r.get("error"))
EOF
)
	while read -r line; do echo "# $line"; done <<<"$OUT"
	gk_check "per-uid cap: 4 connections served" -- test "$(echo "$OUT" | grep -c ' True ')" = 4
	gk_check "per-uid cap: the 5th and 6th refused" -- \
		test "$(echo "$OUT" | grep -c 'too-many-clients')" = 2
else
	gk_result 0 "# SKIP per-uid cap: needs root and setpriv to connect as another uid"
fi
OUT=$(python3 - "$GKD_SOCK" <<'EOF'
import json, select, socket, sys, time
socks = []
for i in range(105):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sys.argv[1])
    socks.append(s)
time.sleep(0.5)  # refusals arrive unasked
ok = refused = 0
for s in socks:
    if select.select([s], [], [], 0)[0]:
        line = s.makefile().readline()
    else:
        s.sendall(b'{"version":1,"request":"status"}\n')
        line = s.makefile().readline()
    r = json.loads(line) if line else {}
    ok += bool(r.get("ok"))
    refused += r.get("error") == "too-many-clients"
print(ok, refused)
EOF
)
gk_check "total cap: 100 served, 5 refused ($OUT)" -- test "$OUT" = "100 5"
R=$(gkc call "$GKD_SOCK" '{"version":1,"request":"status"}')
gkd_json_check "after the caps, the daemon serves again" "$R" 'r["ok"]'
gkd_expect_held "and still holds every GPU" "$ROOT" "$ALL"

gkd_stop
gk_result $? "SIGTERM: exit 0"
gk_done
