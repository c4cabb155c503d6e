#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep watch --act inside a real Slurm, on the Slurm flavour of the Debian node (sim/vm/run
# --userland debian --slurm: Debian's munge, slurmctld and slurmd as units, a one-node cluster
# of the guest). A batch job holds /dev/nvidia0; Xid 13 on both GPUs is the driver's pattern,
# so the watcher runs its default reload rung (gpukeep reload --drain --reason {reason}):
# 1. the node is drained with a "gpukeep:" reason while the job still runs; the job is not
#    killed, it ends by itself; then the reload, the validation, and the node is idle again;
# 2. --requeue (scheduler.requeue): the job is requeued instead of waited for, the node resumed;
# 3. the driver's next load fails for GPU 1 (a probe failure): the reload fails, the node stays
#    drained, its reason still gpukeep's and saying why; the ladder climbs to rung 3 (its
#    command replaced by one that records the call). a: with gpukeepd running its restore step
#    sees the GPU missing first; b: with gpukeepd stopped, the validation does.
# One boot for them all, each case with a watcher state of its own.
# shellcheck disable=SC2016 # guest commands: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare_debian --slurm

JOB_S=60	# how long the waited-for job holds the GPU: long enough to see it drained and running
	# (the watcher's reaction took 25 s once on a loaded machine)
CATALOG=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' \
	"$E2E_SRC/data/xid-catalog.json")
SETUP="
cat >/tmp/xid-catalog.json <<'EOF_CATALOG'
$CATALOG
EOF_CATALOG
JOB_S=$JOB_S
"'
D=/sys/kernel/debug/nvidia_sim
N=$(hostname -s)
# seed NAME [SCHEDULER SETTINGS]: a watcher state of its own for a case, positioned at the end of
# the kernel log (so only the Xids injected after it count); Xid 13 on two GPUs is the pattern
seed() {
	cat >/tmp/$1.json <<EOF_CONFIG
{"debounce_ms": 500, "validate_period_s": 0, "probe_period_s": 0,
 "baseline": "/tmp/baseline.json", "pattern": {"min_gpus": 2},
 "scheduler": {"drain_timeout_s": 300${2:+, $2}},
 "rungs": {"reboot": {"command": ["/bin/sh", "-c", "echo reboot >>/out/$1.reboot"]}}}
EOF_CONFIG
	W $1 >/dev/null 2>&1
}
W() { n=$1; shift; timeout 600 gpukeep watch --once --config /tmp/$n.json --catalog /tmp/xid-catalog.json --state-dir /var/lib/gk-$n "$@"; }
xids() { for g in 0 1; do echo "13 Graphics SM Warp Exception" >$D/gpu$g/xid; done; }
node() { sinfo -h -n $N -o "%t|%E"; }
job() { scontrol show job $1 | grep -o "$2=[^ ]*" | cut -d= -f2-; }
loads() { dmesg | grep -c "NVRM: loading NVIDIA"; }
# until SECONDS COMMAND: polls every 0.2 s
until_() { t=$(($1 * 5)); shift; while ! "$@" >/dev/null 2>&1; do t=$((t - 1)); [ $t -gt 0 ] || return 1; sleep 0.2; done; }
started() { grep -q started "$1" 2>/dev/null; }
drained() { node | grep -q "^dr.*|gpukeep: "; }
'

boot slurm --userland debian --slurm --gpus 2 --init-ms 50 --timeout 900 -- "$SETUP"'
nvsim-slurm-wait 300 2>/out/slurm-wait.err; echo $? >/out/slurm.rc
node >/out/node.start
gpukeep baseline save /tmp/baseline.json >/dev/null 2>&1; echo $? >/out/baseline.rc

# --- 1: the job is waited for --------------------------------------------------------------
seed wait
J=$(sbatch --parsable -o /out/job1.out --mem=1 --wrap "exec 3</dev/nvidia0; echo started; sleep $JOB_S; echo done")
until_ 60 started /out/job1.out; echo $? >/out/job1.started
loads >/out/wait.loads.before
xids
W wait --act >/out/wait.watch 2>&1 &
WP=$!
until_ 120 drained; echo $? >/out/wait.drained
echo "$(node)" >/out/wait.during
echo "$(job $J JobState)" >/out/wait.job.during
grep -c done /out/job1.out >/out/wait.done.during
wait $WP; echo $? >/out/wait.rc
echo "$(job $J JobState) $(job $J ExitCode)" >/out/wait.job.after
node >/out/wait.after
loads >/out/wait.loads.after
cp /var/lib/gk-wait/events.log /out/wait.events

# --- 2: the job is requeued ------------------------------------------------------------------
seed requeue "\"requeue\": true"
J=$(sbatch --parsable -o /out/job2.out --open-mode=append --requeue --mem=1 --wrap "exec 3</dev/nvidia0; echo started; sleep 600")
until_ 60 started /out/job2.out; echo $? >/out/job2.started
loads >/out/requeue.loads.before
xids
W requeue --act >/out/requeue.watch 2>&1; echo $? >/out/requeue.rc
echo "$(job $J Restarts)" >/out/requeue.restarts
node >/out/requeue.after
loads >/out/requeue.loads.after
cp /var/lib/gk-requeue/events.log /out/requeue.events
scancel $J
until_ 60 sh -c "! squeue -h -j $J | grep -q ."

# --- 3a: the driver comes back without GPU 1, gpukeepd running: the restore step sees it ----
seed fail
echo "options nvidia fail_probe=1" >/etc/modprobe.d/fault.conf
cat $D/gpu1/info >/out/gpu1.info
xids
W fail --act >/out/fail.watch 2>&1; echo $? >/out/fail.rc
node >/out/fail.after
cp /var/lib/gk-fail/events.log /out/fail.events

# back to two GPUs and in the pool (by hand, as an operator would after the repair)
# The failed reload left its journal (its restore step failed): the first run finishes that one
# (its driver load was done: the GPU is still missing), the next is a reload of its own.
rm /etc/modprobe.d/fault.conf
for i in 1 2 3; do
	timeout 300 gpukeep reload --kill --json --baseline /tmp/baseline.json >/out/repair$i.json 2>/out/repair$i.err
	rc=$?; echo "$i $rc" >>/out/repair.runs; [ $rc = 0 ] && break
done
echo $rc >/out/repair.rc
scontrol update nodename=$N state=resume
until_ 60 sh -c "sinfo -h -n $N -o %t | grep -qx idle"; echo "$? $(node)" >/out/repair.node

# --- 3b: the same without gpukeepd: the validation finds the GPU missing -------------------
systemctl stop gpukeepd
seed invalid
echo "options nvidia fail_probe=1" >/etc/modprobe.d/fault.conf
xids
W invalid --act >/out/invalid.watch 2>&1; echo $? >/out/invalid.rc
node >/out/invalid.after
cp /var/lib/gk-invalid/events.log /out/invalid.events
'

O=$E2E_TMP/slurm
v() { tr -d '\n' <"$O/$1" 2>/dev/null; }
# the reload's own report, as the watcher's event log keeps it (action-ended)
report() { echo "[e for e in map(__import__('json').loads, out.lines('$1.events')) if e['type'] == 'action-ended' and e['rung'] == 'reload'][-1]"; }
check "boot: exit 0" same "$(cat "$E2E_TMP/slurm.rc")" 0
check "Slurm came up in the guest: the node is idle" same "$(v slurm.rc)/$(v node.start)" "0/idle|none"
[ "$(v slurm.rc)" = 0 ] || sed 's/^/# /' "$O/slurm-wait.err"
check "a baseline was taken" same "$(v baseline.rc)" 0

check "1: the job holding /dev/nvidia0 started" same "$(v job1.started)" 0
check "... after the Xids the node is drained with a gpukeep: reason" same "$(v wait.drained)" 0
pcheck slurm "... the reason names the fault and the rung" \
	'out.text("wait.during").split("|", 1)[1].strip().startswith("gpukeep: ") and "Xid 13" in out.text("wait.during") and "reload" in out.text("wait.during")'
check "... while the job still runs (node draining, job RUNNING, not done)" \
	same "$(v wait.during | cut -d'|' -f1)/$(v wait.job.during)/$(v wait.done.during)" "drng/RUNNING/0"
check "the watcher exits 0" same "$(v wait.rc)" 0
check "... the job was not killed: it ended by itself, exit 0" same "$(v wait.job.after)" "COMPLETED 0:0"
check "... its output is complete" same "$(tr '\n' ' ' <"$O/job1.out")" "started done "
check "... the reload ran: one load of the driver" \
	same "$(($(v wait.loads.after) - $(v wait.loads.before)))" 1
pcheck slurm "... inside the scheduler: drained, 1 job waited for, validated, resumed" \
	'(lambda r: r["result"] == "ok" and r["report"]["scheduler"]["drain"] == "drained" and r["report"]["scheduler"]["jobs_waited"] == 1 and r["report"]["scheduler"]["resume"] == "resumed")('"$(report wait)"')'
check "... the node is idle again, no reason left" same "$(v wait.after)" "idle|none"

check "2 (--requeue): the job started" same "$(v job2.started)" 0
check "... the watcher exits 0" same "$(v requeue.rc)" 0
check "... the job was requeued once" same "$(v requeue.restarts)" 1
check "... the reload ran" same "$(($(v requeue.loads.after) - $(v requeue.loads.before)))" 1
pcheck slurm "... its report says requeued, resumed" \
	'(lambda r: r["result"] == "ok" and r["report"]["scheduler"]["jobs_requeued"] == 1 and r["report"]["scheduler"]["resume"] == "resumed")('"$(report requeue)"')'
check "... the node is back in the pool (not drained)" \
	bash -c "! grep -q '^dr' '$O/requeue.after' && grep -q '|none$' '$O/requeue.after'"

BDF=$(sed -n 's/^bus_id:[[:space:]]*//p' "$O/gpu1.info" 2>/dev/null)
check "3a (the load fails for GPU 1): the reload failed, the ladder climbed to rung 3" \
	same "$(v fail.reboot)" reboot
check "... the node stays drained" same "$(v fail.after | cut -d'|' -f1)" drain
pcheck slurm "... with gpukeep's reason, which says the reload failed and why (gpukeepd holds 1 of 2 GPUs)" \
	'out.text("fail.after").split("|", 1)[1].startswith("gpukeep: reload failed: the driver is back but gpukeepd holds 1 of 2 GPU(s)")'
pcheck slurm "... the reload's report: restore failed, kept drained" \
	'(lambda r: r["result"] != "ok" and [s["status"] for s in r["report"]["steps"] if s["name"] == "restore"] == ["failed"] and r["report"]["scheduler"]["resume"] == "kept-drained")('"$(report fail)"')'
check "repaired by hand: two GPUs again, the node idle" same "$(v repair.rc)/$(v repair.node)" "0/0 idle|none"

check "3b (the same, gpukeepd stopped): the reload failed, the ladder climbed to rung 3" \
	same "$(v invalid.reboot)" reboot
check "... the node stays drained" same "$(v invalid.after | cut -d'|' -f1)" drain
pcheck slurm "... with gpukeep's reason, which says the validation found the node different" \
	'out.text("invalid.after").split("|", 1)[1].startswith("gpukeep: reload failed: the node differs from its baseline in ")'
pcheck slurm "... the reload's report: validate failed on GPU 1 ($BDF, not bound), kept drained" \
	'(lambda r: [s["status"] for s in r["report"]["steps"] if s["name"] == "validate"] == ["failed"] and any(d["object"] == "'"$BDF"'" and "not bound" in d["message"] for d in r["report"]["differences"]) and r["report"]["scheduler"]["resume"] == "kept-drained")('"$(report invalid)"')'
e2e_done
