#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeepd as nvidia-persistenced on the simulated node: linked under NVIDIA's name and started
# with NVIDIA's unit's command line, it returns once serving, with its pid file and RPC socket
# under /var/run/nvidia-persistenced (/var/run a link to /run, as on Debian); the probe built
# from nvpd.x gets the mode and sets it off and on, and the fake driver shows the GPU torn down
# and initialized again; gpukeep status answers through the JSON socket; SIGTERM cleans up.
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
check "SIGTERM stops it" same "$(v after)" gone
check "... the socket and pid file are gone" same "$(v runtime.n)" 0
e2e_done
