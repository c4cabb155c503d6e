#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeepd under valgrind for a short protocol session (every request type, bad input, a client
# dropped at its deadline, refused connections drained, SIGHUP, a retried open, SIGTERM): no
# leak and no memory error.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/gkd-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/gkd-lib.sh"

if ! command -v valgrind >/dev/null; then
	# make check installs valgrind through the Makefile's DEPS; CI installs it too.
	gk_result 1 "valgrind is not installed (apt-get install valgrind)"
	gk_done
fi
if grep -qa __asan_init "$GPUKEEPD"; then
	gk_result 0 "# SKIP valgrind cannot run a sanitizer build; the sanitizers check this one"
	gk_done
fi

ROOT=$(gkd_root hgx-8gpu)
mv "$ROOT/dev/nvidia6" "$GK_TMP/nvidia6.away"
KINDS=definite,indirect,possible
VG=(valgrind --quiet --leak-check=full "--show-leak-kinds=$KINDS" "--errors-for-leak-kinds=$KINDS"
	--error-exitcode=99 "--log-file=$GK_TMP/valgrind.log")
GPUKEEPD_REAL=$GPUKEEPD
GPUKEEPD="$GK_TMP/vg-gpukeepd"
printf '#!/bin/sh\nexec %s %s "$@"\n' "${VG[*]}" "$GPUKEEPD_REAL" >"$GPUKEEPD"
chmod +x "$GPUKEEPD"

gkd_start "$ROOT" --client-timeout 1 --uvm-persistence-mode --max-clients 70
gk_result $? "daemon starts under valgrind"
gkd_expect_held "holds what exists" "$ROOT" \
	"nvidia-uvm nvidia0 nvidia1 nvidia2 nvidia3 nvidia4 nvidia5 nvidia7 nvidiactl"
OUT=$(gkc call "$GKD_SOCK" '{"version":1,"request":"list","id":1}' \
	'{"version":1,"request":"status","id":"s"}' 'not json' '{"version":9}' \
	'{"version":1,"request":"set-persistence","gpu":"3","enabled":false}' \
	'{"version":1,"request":"set-persistence","gpu":"0000:99:00.0","enabled":false}' \
	'{"version":1,"request":"set-persistence","enabled":true}' \
	'{"version":1,"request":"release-all"}' '{"version":1,"request":"acquire-all"}' \
	'{"version":1,"request":"reenumerate"}')
gk_check "the session got 10 replies" -- test "$(echo "$OUT" | grep -c '"version":1')" = 10
gk_check "an oversized line" -- gkc oversized "$GKD_SOCK"
gkc midway "$GKD_SOCK" 5
gkc rude "$GKD_SOCK" 20
gk_check "a stalled client is dropped" -- gkc slow "$GKD_SOCK" 1
gk_check "concurrent clients" -- gkc concurrent "$GKD_SOCK" 20
# 80 at once over a cap of 70: refusals drained, then the heap trimmed when the crowd leaves
gk_check "a crowd over the cap" -- python3 "$GK_SOURCE_DIR/tests/integration/gkd-hostile.py" hold \
	"$GKD_SOCK" 80 0 </dev/null
mv "$GK_TMP/nvidia6.away" "$ROOT/dev/nvidia6"
kill -HUP "$GKD_PID"
gk_check "the retried open succeeds" -- gkc wait "$GKD_SOCK" 'gpus[6]["state"] == "held"' 20
gk_expect_exit 0 "gpukeep status" -- "$GPUKEEP" status --socket "$GKD_SOCK"
gkd_stop
RC=$?
if [ "$RC" -ne 0 ]; then
	sed 's/^/# /' "$GK_TMP/valgrind.log"
fi
gk_result "$RC" "valgrind: no leak, no error (exit 0)"
gk_done
