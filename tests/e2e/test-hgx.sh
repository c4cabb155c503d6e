#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# An HGX-like simulated node: 8 GPUs, 4 NVSwitches bound to the driver's nvidia-nvswitch side,
# the fake fabric manager (tests/helpers/nv-fabricmanager) holding the NVSwitch device files and
# training the fabric, the fake libnvidia-ml reporting each GPU's fabric from the driver's mark.
# Inventory lists the NVSwitch device files and the fabric; holders names the fabric manager; a
# reload stops it after the GPU processes, starts it after the load, waits for the fabric and
# validates the NVLinks; a fabric that never completes is exit 4 naming the fabric. A reset of one
# GPU leaves the fabric manager running (NVIDIA's individual reset on Hopper NVSwitch nodes), waits
# until the manager re-registered that GPU with the fabric, then checks its NVLinks; a GPU whose
# fabric never completes again is exit 4 naming the fabric, next rung reload.
# shellcheck disable=SC2016 # guest commands: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare
e2e_need_gpukeep

FM=$E2E_BUILD/tests/helpers/nv-fabricmanager
FAKENVML=$E2E_BUILD/tests/fakenvml/libfakenvml.so
for f in "$FM" "$FAKENVML"; do
	[ -x "$f" ] || [ -f "$f" ] || {
		echo "Bail out! $f is not built (build the project first)"
		exit 1
	}
done

# The NVML state: the simulated node's 8 GPUs (01..08), 2 NVLinks from each to each of the 4
# NVSwitches (09..0c); the fabric comes from the simulated driver's debugfs mark.
python3 - "$E2E_TMP/nvml.json" <<'EOF_PY'
import json, sys
dbg = "/sys/kernel/debug/nvidia_sim/"
gpus = []
for i in range(8):
    links = [{"active": True, "remote": "00000000:%02X:00.0" % (9 + l // 2), "type": "nvswitch"}
             for l in range(8)]
    gpus.append({"pci": "00000000:%02X:00.0" % (i + 1), "name": "NVIDIA H100 80GB HBM3",
                 "persistence_mode": 0, "nvlinks": links})
json.dump({"driver_version": "535.261.03", "gpus": gpus,
           "fabric_state_file": dbg + "fabric_state",
           "fabric_status_file": dbg + "fabric_status",
           "fabric_gpu_dir": dbg.rstrip("/")}, open(sys.argv[1], "w"))
EOF_PY

boot hgx --gpus 8 --nvswitches 4 --timeout 420 --add "$FM" --add "$FAKENVML" -- '
export GPUKEEP_NVML=/usr/local/bin/libfakenvml.so FAKENVML_STATE=/tmp/nvml.json
S="--socket /run/gpukeep/socket --state-dir /var/lib/gpukeep"
D=/sys/kernel/debug/nvidia_sim
cat >/tmp/nvml.json <<"EOF_STATE"
'"$(cat "$E2E_TMP/nvml.json")"'
EOF_STATE
fabric() { cat $D/fabric_state; }
wait_fabric() { for i in $(seq 100); do [ "$(fabric)" = "$1" ] && return 0; sleep 0.1; done; return 1; }
fm_pid() { cat /var/run/nvidia-fabricmanager/nv-fabricmanager.pid 2>/dev/null; }
loads() { dmesg | grep -c "NVRM: loading NVIDIA"; }
G=$(grep -l "bus_id: 0000:02:00.0" $D/gpu*/info); G=${G%/info}

# a CUDA service (a cgroup under system.slice) on GPU 0000:02:00.0, and a stand-in systemctl
# that logs, with each command, the fabric state then and that GPU'"'"'s own registration
cg=/sys/fs/cgroup/system.slice/fake-dcgm.service
mkdir -p $cg
cat >/usr/local/bin/fake-systemctl <<EOF_SYSTEMCTL
#!/bin/sh
echo "\$1 \$2 \$(cat $D/fabric_state) \$(cat $G/fabric_reset)" >>/out/systemctl.log
case "\$1" in
stop)
	echo 1 >$cg/cgroup.kill
	while [ -n "\$(cat $cg/cgroup.procs)" ]; do sleep 0.05; done ;;
start)
	sh -c "echo \\\$\\\$ >$cg/cgroup.procs; exec sleep 600 </dev/nvidia${G##*gpu}" &
	sleep 0.3 ;;
esac
EOF_SYSTEMCTL
chmod +x /usr/local/bin/fake-systemctl
S="$S --systemctl fake-systemctl"
phase() { mv /out/systemctl.log /out/systemctl.$1 2>/dev/null || : >/out/systemctl.$1; }

fabric >/out/fabric.boot
nv-fabricmanager --delay-ms 3000; echo $? >/out/fm.rc
fabric >/out/fabric.training
wait_fabric 3 || wait_fabric 3 || wait_fabric 3 || wait_fabric 3
fabric >/out/fabric.trained
fm_pid >/out/fm.pid.before
gpukeep inventory --json >/out/inventory.json 2>/out/inventory.err
gpukeep inventory >/out/inventory.txt 2>&1
gpukeep holders --json >/out/holders.json 2>&1
gpukeep holders >/out/holders.txt 2>&1
gpukeep baseline save /tmp/baseline.json >/out/baseline.txt 2>&1
cp /tmp/baseline.json /out/baseline.json
for i in $(seq 1 3); do sleep 601 </dev/nvidia$i & done
fake-systemctl start fake-dcgm.service; : >/out/systemctl.log
sleep 1

gpukeep reload --kill --grace 2 --baseline /tmp/baseline.json --json $S \
	>/out/reload.json 2>/out/reload.progress; echo $? >/out/reload.rc
fm_pid >/out/fm.pid.after
fabric >/out/fabric.after
loads >/out/loads.after
gpukeep holders --json >/out/holders.after.json 2>&1
ls -l /proc/$(fm_pid)/fd 2>/dev/null | grep -c nvidia-nvswitch >/out/fm.fds.after
phase reload

# a fabric that never completes: the manager restarted by the reload keeps its --never
kill $(fm_pid); for i in $(seq 50); do [ -z "$(fm_pid)" ] && break; sleep 0.1; done
nv-fabricmanager --never; echo $? >/out/fm.never.rc
gpukeep reload --kill --fabric-timeout 6 --json $S >/out/never.json 2>/out/never.progress
echo $? >/out/never.rc
fabric >/out/fabric.never
tr "\0" " " </proc/$(fm_pid)/cmdline >/out/fm.never.cmdline
ls /var/lib/gpukeep >/out/state.never
phase never

# a reset of GPU 0000:02:00.0: the fabric manager keeps running and retrains it after 3 s
restart_fm() {
	kill $(fm_pid); for i in $(seq 50); do [ -z "$(fm_pid)" ] && break; sleep 0.1; done
	nv-fabricmanager --delay-ms 300 "$@"; wait_fabric 3 || wait_fabric 3
}
restart_fm --reset-delay-ms 3000
fake-systemctl start fake-dcgm.service; phase none
fm_pid >/out/fm.pid.reset.before
cat $G/reset_count >/out/reset_count.before
gpukeep reset -i 0000:02:00.0 --kill --dry-run $S >/out/reset.dry 2>&1; echo $? >/out/reset.dry.rc
gpukeep reset -i 0000:02:00.0 --kill --grace 2 --json $S >/out/reset.json 2>/out/reset.progress
echo $? >/out/reset.rc
fm_pid >/out/fm.pid.reset.after
cat $G/reset_count >/out/reset_count.after
cat $G/fabric_reset >/out/fabric_reset.after
phase reset

# a reset GPU whose fabric never completes again
restart_fm --reset-never
fm_pid >/out/fm.pid.never2.before
gpukeep reset -i 0000:02:00.0 --kill --fabric-timeout 4 --json $S >/out/reset.never.json \
	2>/out/reset.never.progress
echo $? >/out/reset.never.rc
fm_pid >/out/fm.pid.never2.after
phase reset.never
'
check "the node booted and ran the scenario" same "$(cat "$E2E_TMP/hgx.rc")" 0
check "the fabric is not started after the driver loads" same "$(cat "$E2E_TMP/hgx/fabric.boot")" 1
check "the fake fabric manager starts (its parent returns once it is up)" same "$(cat "$E2E_TMP/hgx/fm.rc")" 0
check "... the fabric is in progress at once" same "$(cat "$E2E_TMP/hgx/fabric.training")" 2
check "... and completed after its delay" same "$(cat "$E2E_TMP/hgx/fabric.trained")" 3

pcheck hgx "inventory lists the 4 NVSwitches bound to nvidia-nvswitch" \
	'[s["driver"] for s in j("inventory.json")["nvswitches"]] == ["nvidia-nvswitch"] * 4 and all(s["bound"] for s in j("inventory.json")["nvswitches"])'
pcheck hgx "inventory lists the NVSwitch device files, ok, under the nvidia-nvswitch major" \
	'[(n["path"], n["minor"], n["status"]) for n in j("inventory.json")["device_nodes"] if "nvswitch" in n["path"]] == [("/dev/nvidia-nvswitch%d" % i, i, "ok") for i in range(4)] + [("/dev/nvidia-nvswitchctl", 255, "ok")]'
pcheck hgx "... and no problem" 'j("inventory.json")["problems"] == []'
pcheck hgx "inventory reports every GPU's fabric completed with success" \
	'[g["fabric"] for g in j("inventory.json")["nvml"]["gpus"]] == [{"state": "completed", "status": "success", "ready": True}] * 8'
check "inventory text: the fabric line" grep -qx "NVLink fabric: 8/8 GPU(s) completed" "$E2E_TMP/hgx/inventory.txt"
pcheck hgx "holders names the fabric manager, holding the NVSwitch device files" \
	'[h["comm"] for h in j("holders.json")["holders"] if h["fabric_manager"]] == ["nv-fabricmanage"] and any(d["path"] == "/dev/nvidia-nvswitchctl" for h in j("holders.json")["holders"] for d in h["devices"])'
check "holders text says when to stop it" grep -q "is the fabric manager: stop it last" "$E2E_TMP/hgx/holders.txt"
pcheck hgx "the baseline records the fabric, the NVLinks and the NVSwitch nodes" \
	'j("baseline.json")["nvml"]["fabric"] is True and len(j("baseline.json")["nvml"]["nvlinks"]) == 64 and "/dev/nvidia-nvswitchctl" in j("baseline.json")["device_nodes"]'

check "reload on the HGX node: exit 0" same "$(cat "$E2E_TMP/hgx/reload.rc")" 0
pcheck hgx "... every step done, the fabric steps in NVIDIA's order" \
	'[(s["name"], s["status"]) for s in j("reload.json")["steps"]] == [(n, "done") for n in ["lock", "preflight", "stop", "fabric-stop", "unload", "load", "restore", "fabric-start", "fabric-wait", "start-units", "validate", "report"]]'
pcheck hgx "... the stop step left the fabric manager to fabric-stop" \
	'", 3 process(es) stopped" in [s for s in j("reload.json")["steps"] if s["name"] == "stop"][0]["detail"]'
pcheck hgx "... fabric-stop stopped it by signal (no unit on this node)" \
	'[s for s in j("reload.json")["steps"] if s["name"] == "fabric-stop"][0]["detail"].startswith("fabric manager stopped: pid ")'
pcheck hgx "... fabric-start started it again from its command line" \
	'[s for s in j("reload.json")["steps"] if s["name"] == "fabric-start"][0]["detail"] == "fabric manager started: /usr/local/bin/nv-fabricmanager --delay-ms 3000"'
pcheck hgx "... fabric-wait waited for 8/8 GPUs" \
	'[s for s in j("reload.json")["steps"] if s["name"] == "fabric-wait"][0]["detail"].startswith("8/8 GPU(s) completed with success after ")'
check "... the countdown was shown while the fabric trained" \
	grep -q "  waiting for the NVLink fabric: 0/8 GPU(s) completed, 180 s left" "$E2E_TMP/hgx/reload.progress"
pcheck hgx "... validation against the baseline found no difference (NVLinks up after the fabric)" \
	'j("reload.json")["differences"] == [] and j("reload.json")["next_rung"] == "none"'
check "... the driver was loaded again" same "$(cat "$E2E_TMP/hgx/loads.after")" 2
check "... a new fabric manager runs" test "$(cat "$E2E_TMP/hgx/fm.pid.after")" != "$(cat "$E2E_TMP/hgx/fm.pid.before")"
check "... holding the 4 NVSwitch files and the control node" same "$(cat "$E2E_TMP/hgx/fm.fds.after")" 5
check "... and the fabric is trained again" same "$(cat "$E2E_TMP/hgx/fabric.after")" 3
pcheck hgx "... the CUDA service was stopped, and started only once the fabric was completed (state 3)" \
	'out.lines("systemctl.reload") == ["stop fake-dcgm.service 3 0", "start fake-dcgm.service 3 0"]'

check "a fabric that never completes: exit 4" same "$(cat "$E2E_TMP/hgx/never.rc")" 4
pcheck hgx "... the error names the fabric, the GPUs and the next rung" \
	'"the NVLink fabric did not complete within 6 s: 0/8 GPU(s) ready; not ready: 0000:01:00.0 (in-progress)" in j("never.json")["error"] and j("never.json")["next_rung"] == "reboot"'
pcheck hgx "... it failed in fabric-wait, before the validation" \
	'[(s["name"], s["status"]) for s in j("never.json")["steps"]][8:11] == [("fabric-wait", "failed"), ("start-units", "pending"), ("validate", "pending")]'
check "... the countdown named the time left" grep -q "waiting for the NVLink fabric: 0/8 GPU(s) completed, [0-9]* s left" "$E2E_TMP/hgx/never.progress"
check "... the fabric manager it started kept its arguments" grep -q -- "--never" "$E2E_TMP/hgx/fm.never.cmdline"
check "... the fabric is in progress, not trained" same "$(cat "$E2E_TMP/hgx/fabric.never")" 2
pcheck hgx "... the service was stopped and left stopped" \
	'out.lines("systemctl.never") == ["stop fake-dcgm.service 2 0"]'
pcheck hgx "... and the error names it, with the command to start it" \
	'"left stopped until the fabric completes: fake-dcgm.service (then '"'"'systemctl start fake-dcgm.service'"'"')" in j("never.json")["error"]'

check "reset dry run: exit 0" same "$(cat "$E2E_TMP/hgx/reset.dry.rc")" 0
check "... the plan leaves the fabric manager running" grep -q "fabric manager (pid [0-9]*) left running" "$E2E_TMP/hgx/reset.dry"
check "... and shows the fabric wait" grep -q "fabric-wait: wait up to 180 s until the reset GPUs' NVLink fabric state is completed with success, then check their 8 NVLink(s)" "$E2E_TMP/hgx/reset.dry"
check "reset of one GPU on the HGX node: exit 0" same "$(cat "$E2E_TMP/hgx/reset.rc")" 0
pcheck hgx "... every step done, the fabric wait before the units and the validation" \
	'[(s["name"], s["status"]) for s in j("reset.json")["steps"]] == [(n, "done") for n in ["lock", "preflight", "release", "reset", "restore", "fabric-wait", "start-units", "validate", "report"]] and j("reset.json")["gpus"] == [{"pci": "0000:02:00.0", "method": "function", "back": True}]'
check "... the GPU was reset" test "$(cat "$E2E_TMP/hgx/reset_count.after")" -gt "$(cat "$E2E_TMP/hgx/reset_count.before")"
check "... the fabric manager kept running (same pid)" same "$(cat "$E2E_TMP/hgx/fm.pid.reset.after")" "$(cat "$E2E_TMP/hgx/fm.pid.reset.before")"
pcheck hgx "... fabric-wait waited for that GPU only, then found its 8 NVLinks up" \
	'(lambda d: d.startswith("1/1 GPU(s) completed with success after ") and d.endswith("; 8/8 NVLink(s) up as before"))([s for s in j("reset.json")["steps"] if s["name"] == "fabric-wait"][0]["detail"])'
check "... the countdown was shown while the manager retrained it" \
	grep -q "  waiting for the NVLink fabric: 0/1 GPU(s) completed, 180 s left" "$E2E_TMP/hgx/reset.progress"
check "... and the GPU is back in the fabric" same "$(cat "$E2E_TMP/hgx/fabric_reset.after")" 0
pcheck hgx "... its CUDA service was stopped, and started only once the GPU was back in the fabric" \
	'out.lines("systemctl.reset") == ["stop fake-dcgm.service 3 0", "start fake-dcgm.service 3 0"]'

check "a reset GPU whose fabric never completes: exit 4" same "$(cat "$E2E_TMP/hgx/reset.never.rc")" 4
pcheck hgx "... the error names the fabric, the GPU and the next rung reload" \
	'"the NVLink fabric did not complete within 4 s: 0/1 GPU(s) ready; not ready: 0000:02:00.0 (in-progress)" in j("reset.never.json")["error"] and j("reset.never.json")["next_rung"] == "reload"'
pcheck hgx "... it failed in fabric-wait, before the units and the validation" \
	'[(s["name"], s["status"]) for s in j("reset.never.json")["steps"]][5:8] == [("fabric-wait", "failed"), ("start-units", "pending"), ("validate", "pending")]'
check "... the fabric manager was not stopped" same "$(cat "$E2E_TMP/hgx/fm.pid.never2.after")" "$(cat "$E2E_TMP/hgx/fm.pid.never2.before")"
pcheck hgx "... the service was stopped and left stopped, named" \
	'out.lines("systemctl.reset.never") == ["stop fake-dcgm.service 3 0"] and "left stopped until the fabric completes: fake-dcgm.service" in j("reset.never.json")["error"]'

e2e_done
