#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sim/vm/run's own contract: exit status passed through, stdout and stderr kept apart and
# free of kernel console noise, /out copied back, a clean stop despite a D-state process,
# usage errors, and a hung guest killed at --timeout with exit 124.
# shellcheck disable=SC2016 # guest commands and awk programs: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare

rc=0
"$E2E_RUNNER" --build-dir "$E2E_BUILD" --gpus x -- true 2>/dev/null || rc=$?
check "a bad --gpus is a usage error (2)" same "$rc" 2
rc=0
"$E2E_RUNNER" --build-dir "$E2E_BUILD" --gpus 2 --link-width 2:8 -- true 2>/dev/null || rc=$?
check "a link option for a GPU the node lacks is a usage error (2)" same "$rc" 2

boot io --gpus 1 -- '
echo out-line
echo err-line >&2
echo payload >/out/file.txt
mkdir -p /out/sub && echo nested >/out/sub/nested.txt
echo "0 79" >/sys/kernel/debug/nvidia_sim/inject_xid
echo 1 >/sys/kernel/debug/nvidia_sim/gpu0/wedged
nvsim-open time /dev/nvidia0 >/dev/null 2>&1 &
sleep 0.5
exit 7
'
check "the command's exit status (7) is the runner's" same "$(cat "$E2E_TMP/io.rc")" 7
check "stdout is exactly the command's" same "$(cat "$E2E_TMP/io.stdout")" out-line
check "stderr has the command's line" grep -qx err-line "$E2E_TMP/io.stderr"
check "stderr has no kernel console lines" bash -c '! grep -q "NVRM\|^\[ *[0-9]" "$1"' _ "$E2E_TMP/io.stderr"
check "the kernel's Xid line went to the console log instead" grep -q "NVRM: Xid" "$E2E_TMP/io.console"
check "/out came back" same "$(cat "$E2E_TMP/io/file.txt")/$(cat "$E2E_TMP/io/sub/nested.txt")" payload/nested

start=$(date +%s)
boot hang --gpus 1 --timeout 20 -- 'sleep 600'
took=$(($(date +%s) - start))
check "a guest past --timeout is killed with exit 124" same "$(cat "$E2E_TMP/hang.rc")" 124
check "... saying so" grep -q "did not finish within 20s" "$E2E_TMP/hang.stderr"
check "... near the timeout (took ${took}s)" test "$took" -lt 40
e2e_done
