#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The cost persistence removes: without a holder every open pays the GPU initialization
# (init_ms) and bumps the init counter; while a process holds the device, opens are fast and
# the counter stands still; when the holder goes, the GPU is torn down.
# shellcheck disable=SC2016 # guest commands and awk programs: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare

INIT_MS=300
boot open --gpus 2 --init-ms "$INIT_MS" -- '
D=/sys/kernel/debug/nvidia_sim
cat $D/gpu0/init_count >/out/init0
nvsim-open time -n 5 /dev/nvidia0 >/out/free.ms
cat $D/gpu0/init_count >/out/init1
sleep 300 </dev/nvidia0 & H=$!
while [ "$(cat $D/gpu0/users)" != 1 ]; do sleep 0.1; done
cat $D/gpu0/init_count >/out/init2
nvsim-open time -n 5 /dev/nvidia0 >/out/held.ms
cat $D/gpu0/init_count >/out/init3
cat $D/gpu0/initialized >/out/initialized_held
kill $H; wait $H
cat $D/gpu0/initialized >/out/initialized_after
cat $D/gpu0/deinit_count >/out/deinit
cat $D/gpu1/init_count >/out/init_other
'

v() { tr -d '[:space:]' <"$E2E_TMP/open/$1"; }
check "the guest command succeeded" same "$(cat "$E2E_TMP/open.rc")" 0
echo "# opens without a holder (ms): $(tr '\n' ' ' <"$E2E_TMP/open/free.ms")"
echo "# opens while held (ms):       $(tr '\n' ' ' <"$E2E_TMP/open/held.ms")"
check "GPU 0 starts uninitialized (init_count 0)" same "$(v init0)" 0
check "5 opens without a holder initialize the GPU 5 times" same "$(v init1)" 5
check "each open without a holder takes at least init_ms ($INIT_MS ms)" \
	awk -v m="$INIT_MS" '$1 < m { bad = 1 } END { exit bad || NR != 5 }' "$E2E_TMP/open/free.ms"
check "the holder's own open initializes once more" same "$(v init2)" 6
check "5 opens while held do not initialize again" same "$(v init3)" 6
check "each open while held takes under a third of init_ms" \
	awk -v m="$INIT_MS" '$1 >= m / 3 { bad = 1 } END { exit bad || NR != 5 }' "$E2E_TMP/open/held.ms"
check "the GPU is initialized while held" same "$(v initialized_held)" 1
check "the GPU is torn down when the holder exits" same "$(v initialized_after)" 0
check "teardowns: 5 open cycles plus the holder's" same "$(v deinit)" 6
check "the other GPU was never initialized" same "$(v init_other)" 0
e2e_done
