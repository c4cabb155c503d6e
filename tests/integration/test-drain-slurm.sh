#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A procedure inside a real single-node Slurm (slurm-lib.sh): sched_around_run() through
# sched-tool with a shell command as the procedure (it sees the node drained, the job ended),
# the wait for a running job, --requeue, resume only gpukeep's own drain, a foreign drain left
# alone, a failure that keeps the node drained with a reason saying why; then the verbs:
# reload --drain --dry-run on a fixture node, a real 'gpukeep reset --drain' that its lock step
# refuses (no nvidia driver on this host: nothing is touched) with the wait's deadline and the
# refusal in the reason, 'gpukeep reboot' leaving a reboot pending (cancelled again: the test's
# RebootProgram is /bin/true, and a job keeps the reboot from being issued), the verbs refused
# while it is pending, and slurmctld unreachable.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=slurm-lib.sh
. "$(dirname "$0")/slurm-lib.sh"

slurm_test_init
if [ -e /sys/module/nvidia ]; then
	echo "1..0 # SKIP the nvidia driver is loaded here: this test runs a real 'gpukeep reset' that must refuse"
	exit 77
fi
unset GPUKEEP_SCHED GPUKEEP_NVML
TOOL=${SCHED_TOOL:-$GK_BUILD_DIR/tests/helpers/sched-tool}
fixture=$(gk_fixture hgx-8gpu)
if ! slurm_start "$GK_TMP/slurm"; then
	gk_result 1 "a single-node Slurm starts"
	gk_done
fi
N=$SLURM_NODE
ST=$GK_TMP/state
back_in_service() { scontrol update nodename="$N" state=resume 2>/dev/null; slurm_wait_until 10 slurm_node_idle; }
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($1)" "$GK_TMP/last.out"; }
# a real reset of a GPU this host does not have: refused at its lock step, nothing touched
# shellcheck disable=SC2317 # these are called through gk_check and gk_expect_exit
reset_bogus()
{
	"$GPUKEEP" reset -i 0000:99:00.0 --state-dir "$ST" --socket "$GK_TMP/no-daemon" --nvml none "$@"
}
# shellcheck disable=SC2317
reset_dead() { SLURM_CONF=$GK_TMP/dead.conf reset_bogus "$@"; }
# shellcheck disable=SC2317
reason_starts() { slurm_reason | grep -q "^$1"; }
# shellcheck disable=SC2317
error_has() { json 'r["error"]' | grep -q "$1"; }
# shellcheck disable=SC2317
reboot_requested() { scontrol show node -o "$N" | grep -q 'State=[^ ]*REBOOT_REQUESTED'; }
# shellcheck disable=SC2317
not_started() { ! grep -q "^step 1/" "$GK_TMP/last.out" "$GK_TMP/last.err"; }
# shellcheck disable=SC2317
no_reboot() { ! scontrol show node -o "$N" | grep -q 'State=[^ ]*REBOOT_'; }

gk_check "the test's slurm.conf reboots nothing (RebootProgram=/bin/true)" -- \
	grep -qx "RebootProgram=/bin/true" "$SLURM_CONF"

# --- sched_around_run() with a shell procedure ---------------------------------------------
job=$(slurm_submit "sleep 3; touch $GK_TMP/job1-ended")
gk_check "a batch job runs on the node" -- slurm_wait_until 20 slurm_job_is "$job" RUNNING
export GK_AROUND_PROC="scontrol show node -o $N | grep -q 'State=[^ ]*DRAIN' && test -e $GK_TMP/job1-ended && touch $GK_TMP/proc1"
gk_expect_exit 0 "drain, wait for the job, the procedure, resume" -- "$TOOL" around "Xid 79 on 0000:07:00.0, reload"
gk_check "... drained with gpukeep's reason" -- grep -qx "slurm: drained node $N: gpukeep: Xid 79 on 0000:07:00.0, reload" "$GK_TMP/last.out"
gk_check "... waited for the one job" -- grep -qx "waited: 1" "$GK_TMP/last.out"
gk_check "... the job ran to its end before the procedure, which saw the node drained" -- test -e "$GK_TMP/proc1"
gk_check "... the job completed" -- slurm_job_is "$job" COMPLETED
gk_check "... progress named the job left" -- grep -q "^waiting: 1 job(s) left" "$GK_TMP/last.out"
gk_check "... resumed" -- grep -qx "resume: resumed" "$GK_TMP/last.out"
gk_check "... back in the pool" -- slurm_wait_until 10 slurm_node_idle

job=$(slurm_submit "sleep 60")
slurm_wait_until 20 slurm_job_is "$job" RUNNING
export GK_AROUND_PROC="true" GK_AROUND_REQUEUE=1
gk_expect_exit 0 "--requeue: the job is requeued, not waited for" -- "$TOOL" around "Xid 79, reload"
unset GK_AROUND_REQUEUE
gk_check "... one job requeued" -- grep -qx "requeued: 1" "$GK_TMP/last.out"
gk_check "... it went back to pending" -- sh -c "scontrol show job $job | grep -q 'Restarts=1'"
gk_check "... the node resumed" -- grep -qx "resume: resumed" "$GK_TMP/last.out"
scancel "$job"
slurm_wait_until 20 slurm_node_idle

scontrol update nodename="$N" state=drain reason="disk full, Ann"
gk_expect_exit 0 "a node someone else drained: the procedure runs" -- "$TOOL" around "Xid 79, reload"
gk_check "... it is not resumed" -- grep -qx "resume: foreign" "$GK_TMP/last.out"
gk_check "... their drain and reason are kept" -- slurm_drained_for "disk full, Ann"
back_in_service

export GK_AROUND_PROC="exit 4" GK_AROUND_ERROR="validate: 0000:07:00.0 missing" GK_AROUND_NEXT=reboot
gk_expect_exit 4 "a procedure that fails" -- "$TOOL" around "Xid 79, reload"
unset GK_AROUND_ERROR GK_AROUND_NEXT
gk_check "... the node stays drained, its reason saying why" -- \
	slurm_drained_for "gpukeep: reload failed: validate: 0000:07:00.0 missing; next rung reboot"
gk_check "... said" -- grep -qx "resume: kept-drained" "$GK_TMP/last.out"
export GK_AROUND_PROC="true"
gk_expect_exit 0 "the next run on the node gpukeep left drained succeeds" -- "$TOOL" around "Xid 79, reload"
gk_check "... adopts gpukeep's drain and resumes it" -- \
	sh -c "grep -qx 'drain: already-drained' $GK_TMP/last.out && grep -qx 'resume: resumed' $GK_TMP/last.out"
slurm_wait_until 10 slurm_node_idle

# --- the verbs ----------------------------------------------------------------------------
gk_expect_exit 0 "reload --drain --dry-run (scheduler detected from SLURM_CONF)" -- \
	"$GPUKEEP" reload --drain --dry-run --root "$fixture" --state-dir "$ST" --reason "Xid 79 on 0000:07:00.0, reload"
gk_check "... shows the drain it would do" -- grep -qx "slurm: would drain node $N: gpukeep: Xid 79 on 0000:07:00.0, reload" "$GK_TMP/last.out"
gk_check "... and the resume" -- grep -q "would resume node $N if the reload succeeds" "$GK_TMP/last.out"
gk_check "... and the reload's plan" -- grep -q "step 5/[0-9]*: unload" "$GK_TMP/last.out"
gk_check "... the node is left in the pool" -- slurm_node_idle

gk_expect_exit 3 "a real reset --drain that the reset refuses" -- reset_bogus --drain --json --reason "Xid 79 on 0000:99:00.0, reset"
gk_check "... the report's scheduler: drained, kept drained" -- \
	test "$(json 'r["scheduler"]["kind"], r["scheduler"]["drain"], r["scheduler"]["resume"], r["exit"]')" = "slurm drained kept-drained 3"
gk_check "... the reset ran (its lock step refused)" -- grep -q "^step 1/[0-9]*: lock: FAILED" "$GK_TMP/last.err"
gk_check "... the node stays drained, the reason saying why" -- \
	reason_starts "gpukeep: reset refused: the nvidia driver is not loaded"
back_in_service

job=$(slurm_submit "sleep 60")
slurm_wait_until 20 slurm_job_is "$job" RUNNING
gk_expect_exit 3 "reset --drain with a job that outlives --drain-timeout 1" -- reset_bogus --drain --drain-timeout 1 --json
gk_check "... the reset is not run, the report says why" -- \
	error_has "1 job(s) still on the node after 1 s; reset not run"
gk_check "... not started" -- not_started
gk_check "... a job waited for" -- test "$(json 'r["scheduler"]["jobs_waited"]')" = 1
gk_check "... progress on stderr" -- grep -q "^slurm: node $N: 1 job(s) left" "$GK_TMP/last.err"
gk_check "... the job still runs" -- slurm_job_is "$job" RUNNING
gk_check "... the node stays drained by gpukeep, saying why" -- \
	slurm_drained_for "gpukeep: reset not run: 1 job(s) still on the node after 1 s"
back_in_service

# gpukeep reboot: the job keeps the reboot pending (ASAP waits for it)
gk_expect_exit 0 "gpukeep reboot --dry-run with Slurm" -- "$GPUKEEP" reboot --dry-run --reason "Xid 79 on 0000:07:00.0, reboot"
gk_check "... says what it would ask Slurm" -- \
	grep -qx "reboot (dry run): would run: scontrol reboot ASAP nextstate=RESUME reason='gpukeep: Xid 79 on 0000:07:00.0, reboot' $N" "$GK_TMP/last.out"
gk_check "... and asks nothing" -- no_reboot
gk_expect_exit 0 "gpukeep reboot with Slurm" -- "$GPUKEEP" reboot --reason "Xid 79 on 0000:07:00.0, reboot"
gk_check "... says it asked Slurm" -- grep -q "reboot requested once its jobs end" "$GK_TMP/last.out"
gk_check "... Slurm has a reboot pending" -- slurm_wait_until 10 reboot_requested
gk_check "... with gpukeep's reason" -- reason_starts "gpukeep: Xid 79 on 0000:07:00.0, reboot"
gk_check "... the job still runs" -- slurm_job_is "$job" RUNNING
gk_expect_exit 3 "gpukeep reboot again, with the reboot pending" -- "$GPUKEEP" reboot --json
gk_check "... refused, saying why" -- test "$(json 'r["scheduler"]["verdict"]')" = reboot-pending
gk_expect_exit 3 "reload --drain --dry-run with the reboot pending" -- \
	"$GPUKEEP" reload --drain --dry-run --root "$fixture" --state-dir "$ST"
gk_check "... refused, naming the node and the state" -- grep -q "node $N: a reboot is pending.*reload refused, nothing done" "$GK_TMP/last.out"
gk_expect_exit 3 "reset --drain with the reboot pending" -- reset_bogus --drain
gk_check "... the reset not run" -- not_started
gk_check "... the reboot still pending" -- reboot_requested
scontrol cancel_reboot "$N"
gk_check "cancel_reboot: the reboot is no longer pending" -- slurm_wait_until 10 no_reboot
scancel "$job"
back_in_service

scontrol update nodename="$N" state=drain reason="memory test, Ann"
gk_expect_exit 3 "gpukeep reboot on a node someone else drained" -- "$GPUKEEP" reboot
gk_check "... refused" -- grep -q "drained by someone else, left alone; nothing done" "$GK_TMP/last.out"
gk_check "... their reason kept" -- slurm_drained_for "memory test, Ann"
gk_check "... no reboot asked" -- no_reboot
gk_expect_exit 3 "gpukeep reboot --dry-run on that node: refused the same" -- "$GPUKEEP" reboot --dry-run
gk_check "... in the same words" -- grep -q "drained by someone else, left alone; nothing done" "$GK_TMP/last.out"
back_in_service

# slurmctld unreachable: nothing disruptive
sed "s/^SlurmctldPort=.*/SlurmctldPort=1/" "$SLURM_CONF" >"$GK_TMP/dead.conf"
gk_expect_exit 3 "reset --drain with slurmctld unreachable" -- reset_dead --drain --scheduler slurm --node "$N"
gk_check "... says so, and that nothing was done" -- grep -q "slurmctld unreachable.*reset not run, nothing done" "$GK_TMP/last.out"
gk_check "... the reset did not start" -- not_started
gk_expect_exit 3 "gpukeep reboot with slurmctld unreachable" -- \
	env SLURM_CONF="$GK_TMP/dead.conf" "$GPUKEEP" reboot --scheduler slurm --node "$N"
gk_check "... says so" -- grep -q "slurmctld unreachable" "$GK_TMP/last.out"
gk_check "the node is in the pool at the end" -- slurm_node_idle

gk_done
