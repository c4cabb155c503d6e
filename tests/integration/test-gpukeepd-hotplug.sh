#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# GPUs that come and go, and GPUs whose open hangs. SIGHUP and the "reenumerate" request pick up
# a GPU added to the node and release one that left; a FIFO in place of /dev/nvidia2 makes the
# open hang as on a wedged GPU: the daemon reports it stuck, keeps serving and holding the others,
# holds it once the open returns, and still stops cleanly while an open hangs.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/gkd-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/gkd-lib.sh"

FULL=$(gkd_root hgx-8gpu)
# The same node without its last GPU (0000:db:00.0, minor 7).
python3 - "$GK_SOURCE_DIR/tests/fixtures/nodes/hgx-8gpu.json" "$GK_TMP/seven.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["gpus"] = d["gpus"][:7]
d["device_nodes"] = "files"
json.dump(d, open(sys.argv[2], "w"))
EOF
python3 "$MKNODE" "$GK_TMP/seven.json" "$GK_TMP/root" 2>/dev/null
ROOT=$GK_TMP/root
chmod 0666 "$ROOT"/dev/nvidia*

gkd_start "$ROOT"
gk_result $? "daemon starts on 7 GPUs"
gkd_expect_held "holds the 7" "$ROOT" "$(gkd_all_gpus 7) nvidiactl"

# Hot-plug: the 8th GPU appears in sysfs, procfs and /dev.
cp -a "$FULL/." "$ROOT/"
gkd_expect_held "nothing changes before SIGHUP (no polling)" "$ROOT" "$(gkd_all_gpus 7) nvidiactl"
kill -HUP "$GKD_PID"
gkd_expect_held "SIGHUP: the new GPU is held" "$ROOT" "$(gkd_all_gpus 8) nvidiactl"
gk_check "SIGHUP does not kill the daemon" -- kill -0 "$GKD_PID"
gk_check "the re-enumeration is logged" -- grep -q 'SIGHUP: re-enumerated: 8 GPUs, 1 new' "$GKD_LOG"

# Hot-unplug through the request.
rm -rf "$ROOT/sys/bus/pci/devices/0000:db:00.0" "$ROOT/proc/driver/nvidia/gpus/0000:db:00.0"
R=$(gkc call "$GKD_SOCK" '{"version":1,"request":"reenumerate"}')
gkd_json_check "reenumerate: reports the GPU that left" "$R" \
	'r["ok"] and r["removed"] == ["0000:db:00.0"] and r["added"] == [] and len(r["gpus"]) == 7'
gkd_expect_held "... and releases it" "$ROOT" "$(gkd_all_gpus 7) nvidiactl"
cp -a "$FULL/." "$ROOT/"
R=$(gkc call "$GKD_SOCK" '{"version":1,"request":"reenumerate"}')
gkd_json_check "reenumerate: reports the GPU that came back" "$R" \
	'r["ok"] and r["added"] == ["0000:db:00.0"] and r["gpus"][7]["pci"] == "0000:db:00.0"'
gkd_expect_held "... and holds it" "$ROOT" "$(gkd_all_gpus 8) nvidiactl"
gkd_stop
gk_result $? "SIGTERM: exit 0"

# A wedged GPU: open() of /dev/nvidia2 blocks (a FIFO with no writer).
rm -f "$FULL/dev/nvidia2"
mkfifo -m 0666 "$FULL/dev/nvidia2"
gkd_start "$FULL" --open-timeout 5
gk_result $? "daemon starts with a hanging open"
# Not a clock check: the reply itself shows the open still in flight (before its deadline).
R=$(gkc call "$GKD_SOCK" '{"version":1,"request":"list"}')
gkd_json_check "the socket answers while GPU 2's open is still in flight" "$R" \
	'r["ok"] and r["gpus"][2]["state"] == "opening"'
gkd_expect_held "the other GPUs are held" "$FULL" \
	"nvidia0 nvidia1 nvidia3 nvidia4 nvidia5 nvidia6 nvidia7 nvidiactl"
gk_check "GPU 2 is reported stuck after the deadline" -- gkc wait "$GKD_SOCK" \
	'gpus[2]["state"] == "stuck" and "stuck" in gpus[2]["device"]["error"]' 15
gk_expect_exit 0 "gpukeep status works meanwhile" -- "$GPUKEEP" status --socket "$GKD_SOCK"
gk_check "status shows 1 stuck" -- grep -q '8 GPUs, 7 held, 1 stuck' "$GK_TMP/last.out"
gk_check "status names the stuck GPU" -- grep -qE '^  2 +0000:3a:00.0 .* stuck ' "$GK_TMP/last.out"
R=$(gkc call "$GKD_SOCK" '{"version":1,"request":"release-all"}')
gkd_json_check "release-all reports the open still pending" "$R" 'r["ok"] and r["pending"] == 1'
R=$(gkc call "$GKD_SOCK" '{"version":1,"request":"acquire-all"}')
gkd_json_check "acquire-all" "$R" 'r["ok"]'
# The GPU recovers: a writer lets the open return.
exec 7<>"$FULL/dev/nvidia2"
gk_check "the open returns: GPU 2 is held" -- gkc wait "$GKD_SOCK" 'gpus[2]["state"] == "held"' 5
gkd_expect_held "all 8 held" "$FULL" "$(gkd_all_gpus 8) nvidiactl"
gk_check "the recovery is logged" -- grep -q 'returned after being stuck' "$GKD_LOG"
exec 7>&-
gkd_stop
gk_result $? "SIGTERM: exit 0"

# Stopping while an open hangs must not hang.
gkd_start "$FULL" --open-timeout 0.5
gk_check "stuck again" -- gkc wait "$GKD_SOCK" 'gpus[2]["state"] == "stuck"' 5
START=$(date +%s)
gkd_stop
gk_result $? "SIGTERM with an open hanging: exit 0"
gk_check "... within 2 s" -- test $(($(date +%s) - START)) -le 2

gk_done
