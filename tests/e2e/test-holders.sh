#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep holders on the node: processes holding the real character devices by fd, by mmap
# alone (as CUDA does), through nvidiactl, and one stuck in D state are found; a bystander
# is not.
# shellcheck disable=SC2016 # guest commands and awk programs: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare
e2e_need_gpukeep

boot holders --gpus 3 -- '
sleep 300 </dev/nvidia0 & echo $! >/out/fd.pid
nvsim-open hold-mmap /dev/nvidia1 300 & echo $! >/out/mmap.pid
sleep 300 3</dev/nvidiactl & echo $! >/out/ctl.pid
sleep 300 & echo $! >/out/idle.pid
# A process that holds GPU 0 and then hangs opening a wedged GPU 2: stuck in D state.
echo 1 >/sys/kernel/debug/nvidia_sim/gpu2/wedged
sh -c "exec 3</dev/nvidia0; exec 4</dev/nvidia2" & echo $! >/out/stuck.pid
# Holders are in place once the GPUs report a user each.
for i in 1 2 3 4 5 6 7 8 9 10; do
	[ "$(cat /sys/kernel/debug/nvidia_sim/gpu0/users)$(cat /sys/kernel/debug/nvidia_sim/gpu1/users)" = 21 ] && break
	sleep 0.2
done
grep -h nvidia /proc/[0-9]*/maps >/out/maps 2>/dev/null
gpukeep holders --json >/out/holders.json; echo $? >/out/holders.rc
gpukeep holders >/out/holders.txt 2>&1
'

pid() { cat "$E2E_TMP/holders/$1.pid"; }
check "the guest command succeeded" same "$(cat "$E2E_TMP/holders.rc")" 0
check "gpukeep holders --json exited 0" same "$(cat "$E2E_TMP/holders/holders.rc" 2>/dev/null)" 0
pcheck holders "the report has the holders schema, version 1" \
	'j("holders.json")["schema"] == "gpukeep.holders" and j("holders.json")["version"] == 1'
pcheck holders "the fd holder of /dev/nvidia0 (pid $(pid fd)) is found, as sleep/root" \
	'any(h["pid"] == '"$(pid fd)"' and h["comm"] == "sleep" and h["user"] == "root" and any(d["path"] == "/dev/nvidia0" and d["fd"] for d in h["devices"]) for h in j("holders.json")["holders"])'
pcheck holders "the mmap-only holder of /dev/nvidia1 (pid $(pid mmap)) is found, mmap without fd" \
	'any(h["pid"] == '"$(pid mmap)"' and any(d["path"] == "/dev/nvidia1" and d["mmap"] and not d["fd"] for d in h["devices"]) for h in j("holders.json")["holders"])'
pcheck holders "the nvidiactl holder (pid $(pid ctl)) is found" \
	'any(h["pid"] == '"$(pid ctl)"' and any(d["path"] == "/dev/nvidiactl" for d in h["devices"]) for h in j("holders.json")["holders"])'
pcheck holders "the bystander (pid $(pid idle)) is not listed" \
	'all(h["pid"] != '"$(pid idle)"' for h in j("holders.json")["holders"])'
pcheck holders "the holder stuck in D state (pid $(pid stuck)) is found, unkillable" \
	'any(h["pid"] == '"$(pid stuck)"' and h["state"] == "D" and h["unkillable"] and any(d["path"] == "/dev/nvidia0" and d["fd"] for d in h["devices"]) for h in j("holders.json")["holders"])'
pcheck holders "no other holder is reported unkillable" \
	'not any(h["unkillable"] for h in j("holders.json")["holders"] if h["pid"] != '"$(pid stuck)"')'
pcheck holders "the text report shows the fd holder's pid" \
	'"'"$(pid fd)"'" in out.text("holders.txt")'
e2e_done
