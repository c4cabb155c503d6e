#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep health --slurm as Slurm's HealthCheckProgram, against a real single-node Slurm: a
# failing node is drained with gpukeep health's reason, resumed once healthy; a node drained by
# someone else, one whose reason a person edited, one drained by another gpukeep action and one
# with a pending reboot are left alone; slurmctld unreachable changes nothing and says so.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=slurm-lib.sh
. "$(dirname "$0")/slurm-lib.sh"

slurm_test_init
unset GPUKEEP_NVML GPUKEEP_NVML_TIMEOUT_MS GPUKEEP_SCHED
good=$(gk_fixture hgx-8gpu)
bad=$(gk_fixture link-x8)
BL="$GK_TMP/baseline.json"
"$GPUKEEP" baseline save "$BL" --root "$good" >/dev/null
printf '6,1,10,-;Linux version 6.1\n' >"$GK_TMP/kmsg"
if ! slurm_start "$GK_TMP/slurm"; then
	gk_result 1 "a single-node Slurm starts"
	gk_done
fi
N=$SLURM_NODE
REASON="gpukeep: health: baseline: 0000:5d:00.0: PCIe link is x8, baseline x16"
# hc ROOT: one HealthCheckProgram run on fixture ROOT
# shellcheck disable=SC2317 # called through gk_expect_exit
hc()
{
	"$GPUKEEP" health --slurm --root "$1" --baseline "$BL" --kmsg "$GK_TMP/kmsg" \
		--state-dir "$GK_TMP/state" --socket "$GK_TMP/no-daemon"
}
back_in_service() { scontrol update nodename="$N" state=resume 2>/dev/null; slurm_wait_until 10 slurm_node_idle; }

gk_expect_exit 0 "a healthy node in service" -- hc "$good"
gk_check "... stays in service" -- grep -qx "slurm: node $N in service" "$GK_TMP/last.out"
gk_check "... idle" -- slurm_node_idle

gk_expect_exit 0 "a failing node (exit 0: the drain is the answer)" -- hc "$bad"
gk_check "... says it drained it" -- grep -qxF "slurm: node $N drained: $REASON" "$GK_TMP/last.out"
gk_check "... Slurm shows gpukeep health's reason" -- slurm_drained_for "$REASON"
gk_expect_exit 0 "still failing" -- hc "$bad"
gk_check "... already drained, reason kept" -- grep -q "already drained by gpukeep" "$GK_TMP/last.out"
gk_expect_exit 0 "healthy again" -- hc "$good"
gk_check "... resumes its own drain" -- grep -q "^slurm: node $N resumed" "$GK_TMP/last.out"
gk_check "... the node is back in the pool" -- slurm_wait_until 10 slurm_node_idle

scontrol update nodename="$N" state=drain reason="memory test, Ann"
gk_expect_exit 0 "failing, on a node someone else drained" -- hc "$bad"
gk_check "... not drained again" -- grep -q "not drained: drained by someone else, left alone" "$GK_TMP/last.out"
gk_expect_exit 0 "healthy, on a node someone else drained" -- hc "$good"
gk_check "... left alone" -- grep -q "left as it is: drained by someone else, left alone" "$GK_TMP/last.out"
gk_check "... their reason kept" -- slurm_drained_for "memory test, Ann"
back_in_service

hc "$bad" >/dev/null
scontrol update nodename="$N" reason="$REASON (Ann: RMA, keep it out)"
gk_expect_exit 0 "healthy, after a person edited health's reason" -- hc "$good"
gk_check "... left alone" -- grep -q "reason was changed by someone, left alone" "$GK_TMP/last.out"
gk_check "... still drained" -- slurm_drained_for "$REASON (Ann: RMA, keep it out)"
back_in_service
hc "$good" >/dev/null

scontrol update nodename="$N" state=drain reason="gpukeep: Xid 79 on 0000:07:00.0, reload"
gk_expect_exit 0 "healthy, on a node a gpukeep reload drained" -- hc "$good"
gk_check "... left drained (the reload resumes it)" -- grep -q "left drained: gpukeep drained it for something else" "$GK_TMP/last.out"
back_in_service

sed "s/^SlurmctldPort=.*/SlurmctldPort=1/" "$SLURM_CONF" >"$GK_TMP/dead.conf"
gk_expect_exit 1 "failing, with slurmctld unreachable" -- env SLURM_CONF="$GK_TMP/dead.conf" "$GPUKEEP" \
	health --slurm --node "$N" --root "$bad" --baseline "$BL" --kmsg "$GK_TMP/kmsg" \
	--state-dir "$GK_TMP/state" --socket "$GK_TMP/no-daemon"
gk_check "... says so" -- grep -q "slurmctld unreachable.*no disruptive action" "$GK_TMP/last.err"
gk_check "... the node is untouched" -- slurm_node_idle

# a pending reboot (issued, never completed: RebootProgram is /bin/true); last, the node stays down
scontrol reboot ASAP nextstate=RESUME reason="firmware update" "$N"
slurm_wait_until 10 sh -c "scontrol show node -o $N | grep -q 'State=[^ ]*REBOOT_'"
gk_expect_exit 0 "failing, with a reboot pending" -- hc "$bad"
gk_check "... left alone" -- grep -q "not drained: a reboot is pending, left alone" "$GK_TMP/last.out"
gk_expect_exit 0 "healthy, with a reboot pending" -- hc "$good"
gk_check "... left alone" -- grep -q "left as it is: a reboot is pending, left alone" "$GK_TMP/last.out"
gk_check "... the reboot is still pending, with its reason" -- sh -c "scontrol show node -o $N | grep -q 'State=[^ ]*REBOOT_' && sinfo -h -n $N -o '%E' | grep -q '^firmware update'"

gk_done
