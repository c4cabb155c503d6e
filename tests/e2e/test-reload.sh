#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep reload on the simulated node, on the real kernel's module calls: the happy path with
# 8 GPUs, gpukeepd and 50 holders; a holder that ignores SIGTERM; a D-state holder (refused,
# nothing changed); nvidia_peermem unloaded and loaded back; two reloads at once; a reload
# killed mid-way and finished by the next; a GPU that fails to probe on reload; a link
# narrower than the baseline; a holder that is a systemd service; NVML settings restored
# across the reload, an NVLink down after it, and NVML hung, with the fake libnvidia-ml.
# shellcheck disable=SC2016 # guest commands: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare
e2e_need_gpukeep

# Guest helpers shared by the boots: the daemon, holders, and a record of the node.
SETUP='
S="--socket /run/gpukeep/socket --state-dir /var/lib/gpukeep"
mkdir -p /run/gpukeep /var/lib/gpukeepd
start_daemon() {
	gpukeepd --foreground --runtime-dir /run/gpukeep --state-dir /var/lib/gpukeepd \
		>/out/daemon.log 2>&1 &
	echo $! >/out/daemon.pid
	for i in $(seq 50); do [ -S /run/gpukeep/socket ] && break; sleep 0.1; done
}
holders() { for i in $(seq 1 "$1"); do sleep 601 </dev/nvidia$((i % 8)) & done; }
# a holder that ignores SIGTERM; returns once it holds /dev/nvidia1
stubborn() {
	sh -c "trap \"\" TERM; exec 3</dev/nvidia1; while :; do sleep 1; done" & echo $! >/out/$1.pid
	for i in $(seq 50); do ls -l /proc/$(cat /out/$1.pid)/fd 2>/dev/null | grep -q nvidia1 && break; sleep 0.1; done
}
modules() { cut -d" " -f1 /proc/modules | grep nvidia | sort | tr "\n" " "; }
daemon_fds() { ls -l /proc/$(cat /out/daemon.pid)/fd 2>/dev/null | grep -c "/dev/nvidia[0-9]"; }
loads() { dmesg | grep -c "NVRM: loading NVIDIA"; }
'

# --- boot 1: happy path, refusals, two at once, crashes -------------------------------------
boot main --gpus 8 --peermem --timeout 400 -- "$SETUP"'
start_daemon
holders 50
stubborn stubborn
sleep 2
modules >/out/modules.before
daemon_fds >/out/daemon_fds.before

gpukeep reload $S >/out/nokill.txt 2>&1; echo $? >/out/nokill.rc
modules >/out/modules.nokill
ls /var/lib/gpukeep >/out/state.nokill 2>&1
gpukeep reload --dry-run --kill $S >/out/dry.txt 2>&1; echo $? >/out/dry.rc

gpukeep reload --kill --grace 2 --json $S >/out/happy.json 2>/out/happy.progress; echo $? >/out/happy.rc
modules >/out/modules.after
daemon_fds >/out/daemon_fds.after
kill -0 $(cat /out/stubborn.pid) 2>/dev/null && echo alive >/out/stubborn.after || echo gone >/out/stubborn.after
ps | grep -c " sleep 601$" >/out/sleepers.after
loads >/out/loads.after
ls /var/lib/gpukeep >/out/state.after

# two reloads at once: the first waits on a holder that ignores SIGTERM
stubborn stubborn2
gpukeep reload --kill --grace 4 $S >/out/first.txt 2>&1 & FIRST=$!
sleep 1.5
gpukeep reload --kill $S >/out/second.txt 2>&1; echo $? >/out/second.rc
ls /var/lib/gpukeep >/out/state.second
echo $FIRST >/out/first.pid
wait $FIRST; echo $? >/out/first.rc

# killed right after the unload, by SIGKILL: the next run finishes the job
GK_TEST_CRASH_AFTER=unload gpukeep reload --kill $S >/out/crash1.txt 2>&1; echo $? >/out/crash1.rc
modules >/out/modules.crash1
ls /var/lib/gpukeep >/out/state.crash1
gpukeep reload $S >/out/resume1.txt 2>&1; echo $? >/out/resume1.rc
modules >/out/modules.resume1
daemon_fds >/out/daemon_fds.resume1

# killed during the SIGTERM grace period
stubborn stubborn3
gpukeep reload --kill --grace 10 $S >/out/crash2.txt 2>&1 & CRASH=$!
sleep 2; kill -9 $CRASH; wait $CRASH 2>/dev/null; echo $? >/out/crash2.rc
gpukeep reload --grace 2 $S >/out/resume2.txt 2>&1; echo $? >/out/resume2.rc
modules >/out/modules.resume2
daemon_fds >/out/daemon_fds.resume2
loads >/out/loads.end

# a corrupt journal: refused and left for a person, nothing changed
echo "garbage{" >/var/lib/gpukeep/reload.journal
gpukeep reload --kill $S >/out/corrupt.txt 2>&1; echo $? >/out/corrupt.rc
modules >/out/modules.corrupt
cp /var/lib/gpukeep/reload.journal /out/journal.corrupt
rm /var/lib/gpukeep/reload.journal

# a holder stuck in D state: refused, nothing changed
echo 1 >/sys/kernel/debug/nvidia_sim/gpu2/wedged
sh -c "exec 3</dev/nvidia0; exec 4</dev/nvidia2" & echo $! >/out/dstate.pid
sleep 1
gpukeep reload --kill $S >/out/dstate.txt 2>&1; echo $? >/out/dstate.rc
modules >/out/modules.dstate
daemon_fds >/out/daemon_fds.dstate
ls /var/lib/gpukeep >/out/state.dstate
echo 0 >/sys/kernel/debug/nvidia_sim/gpu2/wedged
'
rd() { cat "$E2E_TMP/main/$1" 2>/dev/null || echo "(missing $1)"; }
check "boot 1 ran" same "$(cat "$E2E_TMP/main.rc")" 0
before=$(rd modules.before)
check "nvidia_peermem is loaded at the start" grep -q nvidia_peermem "$E2E_TMP/main/modules.before"
check "gpukeepd holds the 8 GPUs at the start" same "$(rd daemon_fds.before)" 8

check "without --kill: refused (exit 3)" same "$(rd nokill.rc)" 3
check "... naming the holders and --kill" grep -q "the GPUs are in use: pid .* (sleep).*rerun with --kill" "$E2E_TMP/main/nokill.txt"
check "... not asking to stop gpukeepd" bash -c "! grep -q '(gpukeepd)' '$E2E_TMP/main/nokill.txt'"
check "... modules unchanged" same "$(rd modules.nokill)" "$before"
check "... no journal left behind" bash -c "! grep -q '^reload.journal$' '$E2E_TMP/main/state.nokill'"
check "--dry-run exits 0" same "$(rd dry.rc)" 0
check "--dry-run shows the leaves-first order with peermem" grep -q "unload, leaves first: nvidia_drm, nvidia_modeset, nvidia_peermem, nvidia_uvm, nvidia" "$E2E_TMP/main/dry.txt"

check "reload --kill: exit 0" same "$(rd happy.rc)" 0
pcheck main "JSON report: every step done, schema gpukeep.reload" \
	'j("happy.json")["schema"] == "gpukeep.reload" and [s["status"] for s in j("happy.json")["steps"]] == ["done"] * 12'
pcheck main "the stop step stopped the 50 holders and the stubborn one" \
	'"gpukeepd released its devices" in j("happy.json")["steps"][2]["detail"] and int(j("happy.json")["steps"][2]["detail"].split(", ")[2].split()[0]) >= 51'
check "the SIGTERM countdown was shown" grep -q "SIGKILL in" "$E2E_TMP/main/happy.progress"
check "the holder that ignores SIGTERM is gone" same "$(rd stubborn.after)" gone
check "no holder is left" same "$(rd sleepers.after)" 0
check "the same modules are back, peermem included" same "$(rd modules.after)" "$before"
check "the driver was really loaded again" same "$(rd loads.after)" 2
check "gpukeepd re-acquired the 8 GPUs" same "$(rd daemon_fds.after)" 8
check "the journal is kept as reload.journal.last" grep -q "^reload.journal.last$" "$E2E_TMP/main/state.after"

check "a second reload during the first: refused (exit 3)" same "$(rd second.rc)" 3
check "... naming the first one's pid" grep -q "another reload is running (pid $(rd first.pid))" "$E2E_TMP/main/second.txt"
check "... leaving the first one's journal alone" grep -q "^reload.journal$" "$E2E_TMP/main/state.second"
check "... the first one finishes (exit 0)" same "$(rd first.rc)" 0

check "a reload killed after the unload dies by SIGKILL" same "$(rd crash1.rc)" 137
check "... leaving the driver unloaded and the journal" bash -c "[ -z \"\$(cat '$E2E_TMP/main/modules.crash1')\" ] && grep -q '^reload.journal$' '$E2E_TMP/main/state.crash1'"
check "the next reload resumes it (exit 0)" same "$(rd resume1.rc)" 0
check "... saying so" grep -q "resuming the reload" "$E2E_TMP/main/resume1.txt"
check "... the unload is not redone, the load is" grep -q "step 5/12: unload: done by an earlier run" "$E2E_TMP/main/resume1.txt"
check "... all modules are back" same "$(rd modules.resume1)" "$before"
check "... and gpukeepd holds the GPUs again" same "$(rd daemon_fds.resume1)" 8

check "a reload killed during the grace period" same "$(rd crash2.rc)" 137
check "... is finished by the next (exit 0)" same "$(rd resume2.rc)" 0
check "... modules back, gpukeepd holding" same "$(rd modules.resume2)/$(rd daemon_fds.resume2)" "$before/8"
check "the driver was loaded 5 times in all (one per completed reload)" same "$(rd loads.end)" 5

check "a corrupt journal: refused (exit 3)" same "$(rd corrupt.rc)" 3
check "... naming it and saying nothing changed" grep -q "reload.journal in the state directory) is corrupt: not valid JSON.*nothing was changed" "$E2E_TMP/main/corrupt.txt"
check "... the journal is left as it was" same "$(rd journal.corrupt)" "garbage{"
check "... modules unchanged" same "$(rd modules.corrupt)" "$before"

check "a D-state holder: refused (exit 3)" same "$(rd dstate.rc)" 3
check "... saying the node needs a reboot" grep -q "uninterruptible sleep.*needs a reboot" "$E2E_TMP/main/dstate.txt"
check "... nothing changed: modules, gpukeepd" same "$(rd modules.dstate)/$(rd daemon_fds.dstate)" "$before/8"
check "... no journal to resume" bash -c "! grep -q '^reload.journal$' '$E2E_TMP/main/state.dstate'"

# --- boot 2: a GPU fails to probe when the driver comes back --------------------------------
boot probe --gpus 4 -- "$SETUP"'
echo "options nvidia fail_probe=0000:02:00.0" >/etc/modprobe.d/fault.conf
gpukeep reload --json $S >/out/probe.json 2>/out/probe.progress; echo $? >/out/probe.rc
'
check "a GPU that fails to probe on reload: exit 4" same "$(cat "$E2E_TMP/probe/probe.rc")" 4
pcheck probe "... the GPU is named, and the next rung given" \
	'any(d["object"] == "0000:02:00.0" and "not bound" in d["message"] for d in j("probe.json")["differences"]) and j("probe.json")["next_rung"] == "gpu-reset"'
pcheck probe "... the validate step failed, the others before it are done" \
	'[s["status"] for s in j("probe.json")["steps"]][:11] == ["done"] * 10 + ["failed"]'

# --- boots 3 and 4: a link narrower than the baseline ---------------------------------------
boot base --gpus 4 -- 'gpukeep baseline save /out/baseline.json'
check "baseline saved on a healthy node" test -s "$E2E_TMP/base/baseline.json"
boot narrow --gpus 4 --link-width 1:8 -- "$SETUP"'
cat >/tmp/baseline.json <<"EOF_BASELINE"
'"$(cat "$E2E_TMP/base/baseline.json" 2>/dev/null)"'
EOF_BASELINE
gpukeep reload --baseline /tmp/baseline.json --json $S >/out/narrow.json 2>/out/narrow.progress; echo $? >/out/narrow.rc
'
check "a link narrower than the baseline: exit 4" same "$(cat "$E2E_TMP/narrow/narrow.rc")" 4
pcheck narrow "... the GPU and both widths are named, next rung a GPU reset" \
	'any(d["object"] == "0000:02:00.0" and d["message"] == "PCIe link is x8, baseline x16" for d in j("narrow.json")["differences"]) and j("narrow.json")["next_rung"] == "gpu-reset"'

# --- boot 5: a holder that is a systemd service is stopped and started through the manager --
# The unit is a cgroup under system.slice whose supervisor respawns the GPU holder, as
# Restart= would: killing the holder alone would not free the GPU. The stand-in systemctl
# stops the whole cgroup (cgroup.kill) and starts the supervisor again.
boot units --gpus 2 -- "$SETUP"'
cg=/sys/fs/cgroup/system.slice/fake-dcgm.service
mkdir -p $cg
cat >/usr/local/bin/fake-systemctl <<"EOF_SYSTEMCTL"
#!/bin/sh
cg=/sys/fs/cgroup/system.slice/$2
echo "$1 $2" >>/out/systemctl.log
case "$1" in
stop)
	echo 1 >$cg/cgroup.kill
	while [ -n "$(cat $cg/cgroup.procs)" ]; do sleep 0.05; done ;;
start)
	sh -c "echo \$\$ >$cg/cgroup.procs; exec sh -c \"while :; do sleep 600 </dev/nvidia0; done\"" &
	sleep 0.5 ;;
esac
EOF_SYSTEMCTL
chmod +x /usr/local/bin/fake-systemctl
fake-systemctl start fake-dcgm.service
: >/out/systemctl.log
gpukeep holders --json >/out/before.json
gpukeep reload --kill --grace 2 --systemctl fake-systemctl --json $S >/out/units.json 2>/out/units.progress; echo $? >/out/units.rc
sleep 0.5
gpukeep holders --json >/out/after.json
'
check "a service holding a GPU: reload exit 0" same "$(cat "$E2E_TMP/units/units.rc")" 0
pcheck units "... before, the holder was in unit fake-dcgm.service" \
	'any(h["unit"] == "fake-dcgm.service" for h in j("before.json")["holders"])'
pcheck units "... the unit was stopped, then started, through the service manager" \
	'out.lines("systemctl.log") == ["stop fake-dcgm.service", "start fake-dcgm.service"]'
pcheck units "... the stop step stopped 1 unit and no process by signal" \
	'", 1 unit(s) stopped, 0 process(es) stopped" in j("units.json")["steps"][2]["detail"]'
pcheck units "... after the reload the service holds the GPU again" \
	'any(h["unit"] == "fake-dcgm.service" for h in j("after.json")["holders"])'

# --- boot 6: NVML around the reload, with the fake libnvidia-ml -----------------------------
# The driver loses per-GPU settings when it is unloaded; the fake library does not, so the test
# plays the driver: between the unload and the load (a reload killed after its unload) it
# resets two settings in the fake's state, and the resumed reload must put them back.
FAKENVML=$E2E_BUILD/tests/fakenvml/libfakenvml.so
cat >"$E2E_TMP/nvml.json" <<'EOF_STATE'
{"driver_version": "535.261.03", "gpus": [
 {"pci": "00000000:01:00.0", "uuid": "GPU-5e7ca396-7c13-489a-94a2-bc37dc768261", "name": "NVIDIA H100 80GB HBM3",
  "persistence_mode": 0, "compute_mode": 3, "app_clock_graphics": 1755, "app_clock_mem": 2619,
  "default_app_clock_graphics": 1980, "default_app_clock_mem": 2619, "power_limit": 500000,
  "power_default": 700000, "power_min": 200000, "power_max": 700000, "accounting_mode": 1,
  "ecc_current": 1, "ecc_pending": 1, "retired_pages_pending": 0, "remap_pending": 0, "remap_failure": 0,
  "nvlinks": [{"active": true, "remote": "00000000:02:00.0", "type": "gpu"},
              {"active": true, "remote": "00000000:02:00.0", "type": "gpu"}]},
 {"pci": "00000000:02:00.0", "uuid": "GPU-080b9ac9-97b5-4965-9b3a-1701564272f6", "name": "NVIDIA H100 80GB HBM3",
  "persistence_mode": 0, "compute_mode": 0, "app_clock_graphics": 1980, "app_clock_mem": 2619,
  "default_app_clock_graphics": 1980, "default_app_clock_mem": 2619, "power_limit": 700000,
  "power_default": 700000, "power_min": 200000, "power_max": 700000, "accounting_mode": 0,
  "ecc_current": 1, "ecc_pending": 1, "retired_pages_pending": 0, "remap_pending": 0, "remap_failure": 0,
  "nvlinks": [{"active": true, "remote": "00000000:01:00.0", "type": "gpu"},
              {"active": true, "remote": "00000000:01:00.0", "type": "gpu"}]}]}
EOF_STATE
# variants of that state, made here: the guest has no JSON tools
python3 - "$E2E_TMP" <<'EOF_PY'
import json, sys
d = sys.argv[1]
state = json.load(open(d + "/nvml.json"))
state["gpus"][0]["nvlinks"][0]["active"] = False
json.dump(state, open(d + "/nvml-linkdown.json", "w"))
state["gpus"][0]["nvlinks"][0]["active"] = True
state["hang"] = "nvmlDeviceGetComputeMode"
json.dump(state, open(d + "/nvml-hang.json", "w"))
EOF_PY
boot nvml --gpus 2 --add "$FAKENVML" -- "$SETUP"'
export GPUKEEP_NVML=/usr/local/bin/libfakenvml.so FAKENVML_STATE=/tmp/nvml.json
cat >/tmp/nvml.json <<"EOF_STATE"
'"$(cat "$E2E_TMP/nvml.json")"'
EOF_STATE
gpukeep baseline save /tmp/baseline.json >/out/baseline.txt 2>&1
cp /tmp/baseline.json /out/baseline.json
GK_TEST_CRASH_AFTER=unload gpukeep reload $S >/out/crash.txt 2>&1; echo $? >/out/crash.rc
cp /var/lib/gpukeep/reload.journal /out/journal.json
# what the real driver does to these settings when it goes away
sed -i -E "s/\"compute_mode\": ?3/\"compute_mode\": 0/; s/\"power_limit\": ?500000/\"power_limit\": 700000/" /tmp/nvml.json
cp /tmp/nvml.json /out/state.lost.json
gpukeep reload --json $S >/out/resume.json 2>/out/resume.progress; echo $? >/out/resume.rc
cp /tmp/nvml.json /out/state.after.json

# an NVLink that does not come back: caught against the baseline
cat >/tmp/nvml.json <<"EOF_STATE"
'"$(cat "$E2E_TMP/nvml-linkdown.json")"'
EOF_STATE
gpukeep reload --baseline /tmp/baseline.json --json $S >/out/link.json 2>/out/link.progress; echo $? >/out/link.rc

# NVML hangs: the reload goes on by the module path and says what it could not do
cat >/tmp/nvml.json <<"EOF_STATE"
'"$(cat "$E2E_TMP/nvml-hang.json")"'
EOF_STATE
GPUKEEP_NVML_TIMEOUT_MS=500 gpukeep reload --json $S >/out/hang.json 2>/out/hang.progress; echo $? >/out/hang.rc
'
check "NVML: baseline saved with NVLinks" grep -q '"nvml"' "$E2E_TMP/nvml/baseline.json"
check "NVML: the reload killed after the unload" same "$(cat "$E2E_TMP/nvml/crash.rc")" 137
pcheck nvml "... had saved the settings and recorded 4 NVLinks in its journal" \
	'j("journal.json")["kind"] == "reload" and j("journal.json")["record"]["settings_file"] == "reload.settings.json" and len(j("journal.json")["record"]["before"]["nvml"]["nvlinks"]) == 4'
pcheck nvml "... the test reset compute mode and power limit as a driver unload does" \
	'j("state.lost.json")["gpus"][0]["compute_mode"] == 0 and j("state.lost.json")["gpus"][0]["power_limit"] == 700000'
check "NVML: the resumed reload exits 0" same "$(cat "$E2E_TMP/nvml/resume.rc")" 0
pcheck nvml "... and put compute mode and power limit back" \
	'j("state.after.json")["gpus"][0]["compute_mode"] == 3 and j("state.after.json")["gpus"][0]["power_limit"] == 500000'
pcheck nvml "... saying so in the restore step" \
	'"NVML settings restored and checked" in j("resume.json")["steps"][6]["detail"]'
check "NVML: an NVLink down after the reload: exit 4" same "$(cat "$E2E_TMP/nvml/link.rc")" 4
pcheck nvml "... the link is named, next rung a GPU reset" \
	'any(d["object"].startswith("0000:01:00.0") or "0000:01:00.0" in d["message"] for d in j("link.json")["differences"]) and j("link.json")["next_rung"] == "gpu-reset"'
check "NVML hung: the reload still exits 0" same "$(cat "$E2E_TMP/nvml/hang.rc")" 0
pcheck nvml "... saying the settings were not saved, so none are restored" \
	'"NVML settings not saved" in j("hang.json")["steps"][0]["detail"] and j("hang.json")["steps"][6]["detail"].endswith("no NVML settings to restore")'

e2e_done
