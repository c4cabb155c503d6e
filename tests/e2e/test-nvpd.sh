#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeepd as nvidia-persistenced on the simulated node: linked under NVIDIA's name and started
# with NVIDIA's unit's command line, it returns once serving, with its pid file and RPC socket
# under /var/run/nvidia-persistenced (/var/run a link to /run, as on Debian); the probe built
# from nvpd.x gets the mode and sets it off and on, and the fake driver shows the GPU torn down
# and initialized again; gpukeep status answers through the JSON socket; gpukeep reload, told a
# JSON socket where nothing listens, releases and re-acquires through the RPC (set disabled,
# enabled) without killing the daemon, in one run and in one killed after its stop step and
# finished by the next; gpukeep reset does the same for one GPU; SIGTERM cleans up.
# shellcheck disable=SC2016 # guest commands: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare
e2e_need_gpukeep
PROBE=$E2E_BUILD/tests/helpers/nvpd-probe
for f in "$E2E_BUILD/src/gpukeepd/gpukeepd" "$PROBE"; do
	if [ ! -x "$f" ]; then
		echo "Bail out! $f is not built (build the project first)"
		exit 1
	fi
done

boot nvpd --gpus 2 --add "$PROBE" -- '
D=/sys/kernel/debug/nvidia_sim
S=/var/run/nvidia-persistenced/socket
mkdir -p /run /var/lib
[ -e /var/run ] || ln -s /run /var/run
readlink /var/run >/out/var-run.link
G0=$(ls /sys/bus/pci/drivers/nvidia | grep -E "^[0-9a-f]{4}:" | sort | head -1)
echo "$G0" >/out/g0
ln -s "$(command -v gpukeepd)" /usr/local/bin/nvidia-persistenced
nvidia-persistenced --user nobody --persistence-mode --no-uvm-persistence-mode \
	--nvidia-cfg-path=/usr/lib/x86_64-linux-gnu --verbose </dev/null >/out/start.out 2>&1
echo $? >/out/start.rc
cat /var/run/nvidia-persistenced/nvidia-persistenced.pid >/out/pid 2>/dev/null
stat -c "%a %U" /run/nvidia-persistenced /run/nvidia-persistenced/socket >/out/stat 2>&1
i=0
while [ $i -lt 100 ] && [ "$(cat $D/gpu0/initialized)" != 1 ]; do sleep 0.05; i=$((i + 1)); done
nvpd-probe $S null 1 >/out/null 2>&1
nvpd-probe $S get "$G0" >/out/get1 2>&1
nvpd-probe $S set 1 "$G0" 0 >/out/set0 2>&1
cat $D/gpu0/initialized >/out/init_off
nvpd-probe $S get "$G0" >/out/get2 2>&1
nvpd-probe $S set 2 "$G0" 1 >/out/set1 2>&1
cat $D/gpu0/initialized >/out/init_on
nvpd-probe $S get "$G0" >/out/get3 2>&1
gpukeep status --json >/out/status.json 2>/out/status.err
PID=$(cat /out/pid)
# gpukeep reload through the RPC: nothing listens where the reload looks for gpukeepd JSON
# socket, so it finds the daemon at NVIDIA socket; the second GPU is set off first, by hand
R="--socket /run/gpukeep-none/socket --state-dir /var/lib/gpukeep"
G1=$(ls /sys/bus/pci/drivers/nvidia | grep -E "^[0-9a-f]{4}:" | sort | sed -n 2p)
fds() { ls -l /proc/$PID/fd 2>/dev/null | grep -c "/dev/nvidia[0-9]"; }
ctl() { ls -l /proc/$PID/fd 2>/dev/null | grep -c "/dev/nvidiactl"; }
loads() { dmesg | grep -c "NVRM: loading NVIDIA"; }
alive() { kill -0 "$PID" 2>/dev/null && echo alive || echo gone; }
nvpd-probe $S set 1 "$G1" 0 >/out/g1off 2>&1
fds >/out/fds.before
loads >/out/loads.before
gpukeep reload $R --json >/out/reload.json 2>/out/reload.err; echo $? >/out/reload.rc
alive >/out/alive.reload
fds >/out/fds.reload
loads >/out/loads.reload
cat $D/gpu0/initialized $D/gpu1/initialized | tr -d "\n" >/out/init.reload
nvpd-probe $S get "$G0" >/out/get.g0 2>&1
nvpd-probe $S get "$G1" >/out/get.g1 2>&1
# killed right after its stop step: the daemon has let go and the driver is still loaded;
# the next reload finishes the job through the daemon its journal names
GK_TEST_CRASH_AFTER=stop gpukeep reload $R >/out/crash.txt 2>&1; echo $? >/out/crash.rc
fds >/out/fds.crash
ctl >/out/ctl.crash
cat $D/gpu0/users $D/gpu0/initialized | tr "\n" " " >/out/gpu0.crash
grep -c "^nvidia " /proc/modules >/out/mod.crash
grep -o "\"daemon_kind\": *\"[a-z-]*\"" /var/lib/gpukeep/reload.journal >/out/kind.crash 2>&1
gpukeep reload $R >/out/resume.txt 2>&1; echo $? >/out/resume.rc
alive >/out/alive.resume
fds >/out/fds.resume
loads >/out/loads.resume
cat $D/gpu0/initialized >/out/init.resume
# the reset rung through the RPC: just GPU 0 set off, reset, set on; killed once after its
# release step (the daemon let go of GPU 0) and finished by the next run
cat $D/gpu0/reset_count >/out/resets.before
GK_TEST_CRASH_AFTER=release gpukeep reset -i "$G0" $R >/out/rcrash.txt 2>&1; echo $? >/out/rcrash.rc
fds >/out/fds.rcrash
gpukeep reset -i "$G0" $R --json >/out/reset.json 2>/out/reset.err; echo $? >/out/reset.rc
alive >/out/alive.reset
fds >/out/fds.reset
cat $D/gpu0/reset_count >/out/resets.after
nvpd-probe $S get "$G0" >/out/get.reset 2>&1
kill -TERM "$PID"
i=0
while [ $i -lt 100 ] && kill -0 "$PID" 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
kill -0 "$PID" 2>/dev/null && echo alive >/out/after || echo gone >/out/after
# the directory is removed too when the daemon made it and may (or by the init system)
ls -A /run/nvidia-persistenced 2>/dev/null | wc -l >/out/runtime.n
'

v() { tr -d '[:space:]' <"$E2E_TMP/nvpd/$1"; }
check "the guest command succeeded" same "$(cat "$E2E_TMP/nvpd.rc")" 0
sed 's/^/# start: /' "$E2E_TMP/nvpd/start.out" 2>/dev/null | head -20
check "/var/run links to /run" same "$(v var-run.link)" "/run"
check "started as nvidia-persistenced with its command line: exit 0 once serving" same "$(v start.rc)" 0
check "its pid file is where NVIDIA's is" test -n "$(v pid)"
check "the directory 0755 and the socket 0666, owned by nobody" same \
	"$(tr '\n' ' ' <"$E2E_TMP/nvpd/stat")" "755 nobody 666 nobody "
check "RPC null" same "$(v null)" ok
check "RPC get: persistence on" same "$(v get1)" "status0mode1"
check "RPC v1 set off: success" same "$(v set0)" "status0"
check "... and the driver tore the GPU down" same "$(v init_off)" 0
check "... get reads off" same "$(v get2)" "status0mode0"
check "RPC v2 set on: success, answered once open" same "$(v set1)" "status0"
check "... the GPU is initialized again" same "$(v init_on)" 1
check "... get reads on" same "$(v get3)" "status0mode1"
pcheck nvpd "gpukeep status through the JSON socket: both GPUs held" \
	'[g["state"] for g in j("status.json")["gpus"]] == ["held", "held"]'
check "reload through the RPC: exit 0" same "$(v reload.rc)" 0
sed 's/^/# reload: /' "$E2E_TMP/nvpd/reload.err" 2>/dev/null | tail -14
check "... gpukeepd held only the GPU set on before it" same "$(v fds.before)" 1
pcheck nvpd "... its report: nvidia-persistenced released and re-acquired, every step done" \
	'j("reload.json")["daemon"] == "nvidia-persistenced" and [s["status"] for s in j("reload.json")["steps"]] == ["done"] * 12'
pcheck nvpd "... the stop step set its GPU disabled, the restore has it held again" \
	'"nvidia-persistenced set its GPU(s) disabled" in [s for s in j("reload.json")["steps"] if s["name"] == "stop"][0]["detail"] and "nvidia-persistenced holds 1/1 GPU(s) again" in [s for s in j("reload.json")["steps"] if s["name"] == "restore"][0]["detail"]'
check "... the driver was unloaded and loaded again" same "$(v loads.reload)" "$(($(v loads.before) + 1))"
check "... the daemon was not killed (same pid)" same "$(v alive.reload)" alive
check "... it holds its GPU again, through a new driver" same "$(v fds.reload)" 1
check "... the fake driver: GPU 0 initialized again, GPU 1 (left off) not" same "$(v init.reload)" 10
check "... get: GPU 0 on, GPU 1 still off" same "$(v get.g0)/$(v get.g1)" "status0mode1/status0mode0"
check "killed after the stop step" same "$(v crash.rc)" 137
check "... the daemon had let go: no GPU and no nvidiactl open in /proc/<pid>/fd" same "$(v fds.crash)/$(v ctl.crash)" 0/0
check "... the fake driver: GPU 0 without users, torn down" same "$(tr -s ' ' <"$E2E_TMP/nvpd/gpu0.crash")" "0 0 "
check "... before the unload: the driver is still loaded" same "$(v mod.crash)" 1
check "... the journal names the daemon" grep -q '"nvidia-persistenced"' "$E2E_TMP/nvpd/kind.crash"
check "the next reload finishes it: exit 0" same "$(v resume.rc)" 0
grep -E '^(step|resum)' "$E2E_TMP/nvpd/resume.txt" | sed 's/^/# resume: /'
check "... re-acquired through the RPC: the same daemon holds GPU 0 again" same "$(v alive.resume)/$(v fds.resume)/$(v init.resume)" alive/1/1
check "... through a driver loaded again" same "$(v loads.resume)" "$(($(v loads.reload) + 1))"
check "reset killed after its release step" same "$(v rcrash.rc)" 137
check "... the daemon had let go of GPU 0" same "$(v fds.rcrash)" 0
check "the next reset finishes it through the RPC: exit 0" same "$(v reset.rc)" 0
sed 's/^/# reset: /' "$E2E_TMP/nvpd/reset.err" 2>/dev/null | grep -E "step|resum" | head -8
pcheck nvpd "... its report: nvidia-persistenced released and re-acquired, GPU 0 back" \
	'j("reset.json")["daemon"] == "nvidia-persistenced" and [g["back"] for g in j("reset.json")["gpus"]] == [True]'
check "... GPU 0 was reset" same "$(v resets.after)" "$(($(v resets.before) + 1))"
check "... the same daemon holds it again, get reads on" same "$(v alive.reset)/$(v fds.reset)/$(v get.reset)" alive/1/status0mode1
check "SIGTERM stops it" same "$(v after)" gone
check "... the socket and pid file are gone" same "$(v runtime.n)" 0
e2e_done
