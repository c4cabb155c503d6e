#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep reload on the Debian node, against real systemd: a service holding a GPU with
# Restart=always (killing its process would only make systemd start it again) is stopped and
# started through systemctl; a plain process holding another GPU gets SIGTERM; gpukeepd.service
# releases and re-acquires its devices without being restarted. Without --kill the reload is
# refused and the service is left alone.
# shellcheck disable=SC2016 # guest commands: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare_debian

GPUS=2
boot reload --userland debian --gpus "$GPUS" --timeout 600 -- '
cat >/etc/systemd/system/gpu-job.service <<"EOF"
[Unit]
Description=test: a GPU job service, restarted by systemd whenever its process dies
[Service]
ExecStart=/bin/sh -c "exec 3</dev/nvidia1; exec sleep infinity"
Restart=always
RestartSec=1
EOF
systemctl daemon-reload
systemctl start gpu-job.service
show() { systemctl show "$1" -P "$2"; }
gpu_fds() { ls -l /proc/$1/fd 2>/dev/null | grep -c "/dev/nvidia[0-9]"; }
sleep 600 </dev/nvidia0 & echo $! >/out/plain.pid
sleep 1
echo "$(show gpu-job.service MainPID) $(show gpukeepd MainPID)" >/out/pids.before
gpukeep holders --json >/out/holders.before.json

gpukeep reload >/out/nokill.txt 2>&1; echo $? >/out/nokill.rc
echo "$(show gpu-job.service ActiveState) $(show gpu-job.service MainPID)" >/out/job.nokill

# the journal from here on: whole seconds, and the last unit message is over a second old
sleep 1
T=@$(date +%s)
timeout 300 gpukeep reload --kill --grace 2 --json >/out/reload.json 2>/out/reload.progress
echo $? >/out/reload.rc
sleep 1
for u in gpu-job.service gpukeepd.service; do
	echo "$(show $u ActiveState) $(show $u NRestarts)"
done >/out/states.after
echo "$(show gpu-job.service MainPID) $(show gpukeepd MainPID)" >/out/pids.after
gpu_fds $(show gpukeepd MainPID) >/out/gkd_fds.after
kill -0 $(cat /out/plain.pid) 2>/dev/null && echo alive >/out/plain.after || echo gone >/out/plain.after
gpukeep holders --json >/out/holders.after.json
dmesg | grep -c "NVRM: loading NVIDIA" >/out/loads
journalctl --since $T -u gpu-job.service -o cat --no-pager >/out/job.journal
journalctl --since $T -u gpukeepd -o cat --no-pager >/out/gkd.journal
'
check "boot: exit 0" same "$(cat "$E2E_TMP/reload.rc")" 0
O=$E2E_TMP/reload
pcheck reload "before: gpu-job.service holds /dev/nvidia1, as a system service" \
	'any(h["unit"] == "gpu-job.service" for h in j("holders.before.json")["holders"])'
check "without --kill: refused, exit 3" same "$(cat "$O/nokill.rc")" 3
check "... gpu-job.service left running, same process" same "$(cat "$O/job.nokill")" \
	"active $(cut -d' ' -f1 "$O/pids.before")"
check "gpukeep reload --kill: exit 0" same "$(cat "$O/reload.rc")" 0
pcheck reload "... the stop step stopped 1 unit through systemctl and 1 process by signal" \
	'", 1 unit(s) stopped, 1 process(es) stopped" in j("reload.json")["steps"][2]["detail"]'
pcheck reload "... systemd stopped gpu-job.service, then started it again" \
	'(lambda t: 0 <= t.find("Stopped gpu-job.service") < t.find("Started gpu-job.service"))(out.text("job.journal"))'
pcheck reload "... never through Restart= (NRestarts 0), active again" \
	'out.lines("states.after")[0] == "active 0"'
pcheck reload "... with a new process" \
	'out.text("pids.after").split()[0] != out.text("pids.before").split()[0]'
pcheck reload "... which holds the GPU again" \
	'any(h["unit"] == "gpu-job.service" for h in j("holders.after.json")["holders"])'
check "the plain holder got SIGTERM and is gone" same "$(cat "$O/plain.after")" gone
check "the driver was loaded twice (boot, reload)" same "$(cat "$O/loads")" 2
pcheck reload "gpukeepd.service: active, not restarted, same pid" \
	'out.lines("states.after")[1] == "active 0" and out.text("pids.after").split()[1] == out.text("pids.before").split()[1]'
check "... holds all $GPUS GPUs again" same "$(cat "$O/gkd_fds.after")" "$GPUS"
pcheck reload "... its journal shows the release and the re-acquire" \
	'(lambda t: 0 <= t.find("released") < t.rfind("held"))(out.text("gkd.journal"))'
e2e_done
