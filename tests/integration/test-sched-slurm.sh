#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The scheduler adapter against a real single-node Slurm (munged + slurmctld + slurmd started
# here, torn down at the end): drain with gpukeep's reason, resume only its own drain, leave a
# foreign drain and a pending reboot alone, wait for a running job to end, requeue it, and take
# no action when slurmctld cannot be reached.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=slurm-lib.sh
. "$(dirname "$0")/slurm-lib.sh"

slurm_test_init
TOOL=${SCHED_TOOL:-$GK_BUILD_DIR/tests/helpers/sched-tool}
if ! slurm_start "$GK_TMP/slurm"; then
	gk_result 1 "a single-node Slurm starts"
	gk_done
fi
export GPUKEEP_SCHED=slurm
N=$SLURM_NODE


gk_expect_exit 0 "the adapter finds the node as slurmctld knows it" -- "$TOOL" node
gk_check "... named $N" -- grep -qx "$N" "$GK_TMP/last.out"

gk_expect_exit 0 "drain an idle node" -- "$TOOL" drain "Xid 79 on 0000:07:00.0, reload"
gk_check "... done" -- grep -qx "verdict: done" "$GK_TMP/last.out"
gk_check "... Slurm shows gpukeep's reason" -- slurm_drained_for "gpukeep: Xid 79 on 0000:07:00.0, reload"
gk_expect_exit 0 "a second drain" -- "$TOOL" drain "Xid 48"
gk_check "... keeps the first reason" -- slurm_drained_for "gpukeep: Xid 79 on 0000:07:00.0, reload"
gk_expect_exit 0 "resume a node gpukeep drained" -- "$TOOL" resume
gk_check "... done" -- grep -qx "verdict: done" "$GK_TMP/last.out"
gk_check "... the node is back in the pool" -- slurm_wait_until 10 slurm_node_idle

scontrol update nodename="$N" state=drain reason="disk full, Ann"
gk_expect_exit 0 "resume a node someone else drained" -- "$TOOL" resume
gk_check "... left alone" -- grep -qx "verdict: drained by someone else, left alone" "$GK_TMP/last.out"
gk_expect_exit 0 "drain a node someone else drained" -- "$TOOL" drain "Xid 79"
gk_check "... their reason is kept" -- slurm_drained_for "disk full, Ann"
scontrol update nodename="$N" state=resume
slurm_wait_until 10 slurm_node_idle

"$TOOL" drain "Xid 31" >/dev/null
scontrol update nodename="$N" reason="gpukeep: Xid 31 (Ann: RMA, keep out)"
gk_expect_exit 0 "resume after a person edited gpukeep's reason" -- "$TOOL" resume "gpukeep: Xid 31"
gk_check "... left alone" -- grep -q "reason was changed by someone, left alone" "$GK_TMP/last.out"
gk_check "... still drained" -- slurm_drained_for "gpukeep: Xid 31 (Ann: RMA, keep out)"
scontrol update nodename="$N" state=resume
slurm_wait_until 10 slurm_node_idle

# the wait: a job running when the drain starts runs to its end
job=$(slurm_submit "sleep 2; touch $GK_TMP/job-ended")
gk_check "a batch job runs on the node" -- slurm_wait_until 20 slurm_job_is "$job" RUNNING
gk_expect_exit 0 "drain while it runs" -- "$TOOL" drain "Xid 79, reload"
gk_check "... the job still runs" -- slurm_job_is "$job" RUNNING
gk_expect_exit 0 "wait for the node's jobs (30 s deadline)" -- "$TOOL" wait 30
gk_check "... progress names the job left" -- grep -q "^waiting: 1 job(s) left" "$GK_TMP/last.out"
gk_check "... and the end" -- grep -q "^waiting: 0 job(s) left" "$GK_TMP/last.out"
gk_check "... the job ran to its end" -- test -e "$GK_TMP/job-ended"
gk_check "... and completed" -- slurm_wait_until 10 slurm_job_is "$job" COMPLETED

"$TOOL" resume >/dev/null
slurm_wait_until 10 slurm_node_idle
job=$(slurm_submit "sleep 60")
slurm_wait_until 20 slurm_job_is "$job" RUNNING
"$TOOL" drain "Xid 79, reload" >/dev/null
gk_expect_exit 1 "a wait that passes its deadline" -- "$TOOL" wait 1
gk_check "... says how many jobs are left" -- grep -q "1 job(s) still running after 1 s" "$GK_TMP/last.err"
gk_expect_exit 0 "requeue the node's jobs" -- "$TOOL" requeue
gk_check "... one job" -- grep -qx "requeued 1 job(s)" "$GK_TMP/last.out"
gk_expect_exit 0 "... and they leave the node" -- "$TOOL" wait 20
gk_check "... the job is pending again (the node is drained)" -- \
	sh -c "scontrol show job $job | grep -q 'JobState=PENDING.*' && scontrol show job $job | grep -q 'Restarts=1'"
scancel "$job"

# slurmctld unreachable: no change, said clearly
sed "s/^SlurmctldPort=.*/SlurmctldPort=1/" "$SLURM_CONF" >"$GK_TMP/dead.conf"
gk_expect_exit 1 "drain with slurmctld unreachable" -- env SLURM_CONF="$GK_TMP/dead.conf" "$TOOL" --node "$N" drain "Xid 79"
gk_check "... says so, and that it takes no disruptive action" -- \
	grep -q "slurmctld unreachable.*no disruptive action" "$GK_TMP/last.err"
gk_expect_exit 1 "a call that passes its deadline" -- env SLURM_CONF="$GK_TMP/dead.conf" "$TOOL" --timeout 300 --node "$N" drain "Xid 79"
gk_check "... names the deadline" -- grep -q "did not answer within 300 ms" "$GK_TMP/last.err"

# a pending reboot (RebootProgram is /bin/true and the node never comes back as rebooted, so
# the reboot stays issued): left alone; it comes last, the node stays down
"$TOOL" resume >/dev/null
slurm_wait_until 10 slurm_node_idle
gk_expect_exit 0 "reboot ASAP with gpukeep's reason" -- "$TOOL" reboot "Xid 79, reload failed"
gk_check "... Slurm has a reboot pending" -- slurm_wait_until 10 sh -c "scontrol show node -o $N | grep -q 'State=[^ ]*REBOOT_'"
gk_check "... with the reason" -- sh -c "sinfo -h -n $N -o '%E' | grep -q '^gpukeep: Xid 79, reload failed'"
gk_expect_exit 0 "resume with a reboot pending" -- "$TOOL" resume
gk_check "... left alone" -- grep -qx "verdict: a reboot is pending, left alone" "$GK_TMP/last.out"
gk_expect_exit 0 "drain with a reboot pending" -- "$TOOL" drain "Xid 48"
gk_check "... left alone" -- grep -qx "verdict: a reboot is pending, left alone" "$GK_TMP/last.out"
gk_check "... the reboot is still pending" -- sh -c "scontrol show node -o $N | grep -q 'State=[^ ]*REBOOT_'"

gk_done
