#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The simulated driver's fault switches and reload behaviour, which later scenarios (reload,
# reset, watch) build on: Xid lines in the real format, a wedged open in D state, a failed
# reset that loses the GPU, persistence flag, a third-party holder, and a reload.
# shellcheck disable=SC2016 # guest commands and awk programs: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare

boot faults --gpus 3 --peermem --init-ms 100 -- '
D=/sys/kernel/debug/nvidia_sim
bdf() { sed -n "s/^bus_id: //p" $D/gpu$1/info; }
uuids() { grep -h "GPU UUID" /proc/driver/nvidia/gpus/*/information | sort; }
bdf 0 >/out/bdf0; bdf 1 >/out/bdf1
uuids >/out/uuids.before

echo "0 79" >$D/inject_xid
echo "13 Graphics SM Warp Exception on (GPC 1, TPC 2, SM 0)" >$D/gpu1/xid
dmesg -r | grep "NVRM: Xid" >/out/xid

echo 1 >$D/gpu2/wedged
nvsim-open time /dev/nvidia2 >/dev/null 2>&1 & W=$!
sleep 1
sed -n "s/^State:[[:space:]]*//p" /proc/$W/status >/out/wedged.state
kill -9 $W; sleep 0.3
sed -n "s/^State:[[:space:]]*//p" /proc/$W/status >/out/wedged.killed
echo 0 >$D/gpu2/wedged
wait $W; echo $? >/out/wedged.rc

echo 1 >$D/gpu1/fail_reset
echo 1 >/sys/bus/pci/devices/$(bdf 1)/reset; echo $? >/out/reset1.rc
cat $D/gpu1/lost >/out/lost1
nvsim-open time /dev/nvidia1 >/dev/null 2>/out/lost.open.err; echo $? >/out/lost.open.rc
echo 0 >$D/gpu1/fail_reset
echo 1 >/sys/bus/pci/devices/$(bdf 1)/reset
cat $D/gpu1/lost >/out/lost2
nvsim-open time /dev/nvidia1 >/dev/null; echo $? >/out/recovered.rc
cat $D/gpu1/reset_count >/out/reset_count

echo 1 >$D/gpu0/persistent
nvsim-open time -n 3 /dev/nvidia0 >/dev/null
cat $D/gpu0/init_count $D/gpu0/initialized >/out/persistent.on
echo 0 >$D/gpu0/persistent
cat $D/gpu0/initialized >/out/persistent.off

ls /sys/module/nvidia/holders | sort | tr "\n" " " >/out/holders
modprobe -r nvidia_drm nvidia_modeset nvidia_uvm nvidia 2>/out/unload1.err; echo $? >/out/unload1.rc
test -d /sys/module/nvidia && echo yes >/out/still_loaded
modprobe -r nvidia_peermem nvidia; echo $? >/out/unload2.rc
cut -d" " -f1 /proc/modules | sort | tr "\n" " " >/out/modules.unloaded
# The kernel asks modprobe for char-major-195-0: an open alone loads the driver again.
nvsim-open time /dev/nvidia0 >/dev/null 2>&1; echo $? >/out/autoload.rc
cut -d" " -f1 /proc/modules | sort | tr "\n" " " >/out/modules.autoloaded
modprobe -r nvidia
modprobe nvidia && modprobe nvidia_uvm && modprobe nvidia_drm; echo $? >/out/reload.rc
nvsim-mknod; echo $? >/out/mknod.rc
uuids >/out/uuids.after
cat $D/gpu0/init_count >/out/init_after_reload
nvsim-open time /dev/nvidia0 >/dev/null; echo $? >/out/open_after_reload.rc
'

v() { tr -d '\n' <"$E2E_TMP/faults/$1"; }
check "the guest command succeeded" same "$(cat "$E2E_TMP/faults.rc")" 0
pcheck faults "Xid 79 for GPU 0 is a kernel KERN_ERR line in the real format" \
	'any(__import__("re").fullmatch(r"<3>\[ *[0-9.]+\] NVRM: Xid \(PCI:" + out.text("bdf0").strip()[:-2] + r"\): 79, pid=.<unknown>., name=<unknown>, GPU has fallen off the bus\.", l) for l in out.lines("xid"))'
pcheck faults "Xid 13 for GPU 1 carries the given text" \
	'any(("NVRM: Xid (PCI:" + out.text("bdf1").strip()[:-2] + "): 13, pid=\x27<unknown>\x27, name=<unknown>, Graphics SM Warp Exception on (GPC 1, TPC 2, SM 0)") in l for l in out.lines("xid"))'
check "an open of a wedged GPU sleeps in D state" same "$(v wedged.state | cut -c1)" D
check "SIGKILL does not end it while wedged" same "$(v wedged.killed | cut -c1)" D
check "releasing the wedge lets the killed opener die (137)" same "$(v wedged.rc)" 137
check "a reset with fail_reset completes at the PCI level" same "$(v reset1.rc)" 0
check "... and leaves the GPU lost" same "$(v lost1)" 1
check "opening a lost GPU fails" same "$(v lost.open.rc)" 1
check "... with EIO" grep -q "Input/output error" "$E2E_TMP/faults/lost.open.err"
check "a good reset brings the GPU back" same "$(v lost2)/$(v recovered.rc)" 0/0
check "both resets were counted" same "$(v reset_count)" 2
check "persistence keeps one initialization over 3 opens" same "$(v persistent.on)" 11
check "clearing persistence with no user tears the GPU down" same "$(v persistent.off)" 0
check "nvidia_peermem holds nvidia beside nvidia_modeset and nvidia_uvm" \
	same "$(v holders)" "nvidia_modeset nvidia_peermem nvidia_uvm "
check "unloading the usual four fails while nvidia_peermem holds nvidia" same "$(v unload1.rc)" 1
check "... and nvidia stays loaded" same "$(v still_loaded)" yes
check "removing nvidia_peermem first lets nvidia go" same "$(v unload2.rc)" 0
check "only the hardware layer is left" same "$(v modules.unloaded)" "nvsim_hw "
check "with no driver, opening /dev/nvidia0 loads nvidia (char-major-195 alias)" \
	same "$(v autoload.rc) $(v modules.autoloaded)" "0 nvidia nvsim_hw "
check "the driver loads again" same "$(v reload.rc)" 0
check "nvsim-mknod re-creates the nodes" same "$(v mknod.rc)" 0
check "UUIDs are the same after the reload" same "$(v uuids.after)" "$(v uuids.before)"
check "the reloaded driver starts with uninitialized GPUs" same "$(v init_after_reload)" 0
check "GPU 0 opens after the reload" same "$(v open_after_reload.rc)" 0
e2e_done
