#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep watch on saved kernel logs (--kmsg fixture files) with fake rung commands that
# record their calls: what each fault leads to, the guards, the saved position, the resumed
# action, the event log and the metrics (checked with prometheus_client's parser).
# shellcheck disable=SC2317 # helpers run through gk_expect_exit and gk_check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# Debian's python3-prometheus-client is for Debian's python3 (another python3 may be first in PATH)
PROM_PY=/usr/bin/python3
if ! "$PROM_PY" -c 'import prometheus_client' 2>/dev/null; then
	echo "1..0 # SKIP python3-prometheus-client is not installed (make deps installs it)"
	exit 77
fi

FAKE=$GK_SOURCE_DIR/tests/integration/watch/fake-rung
METRICS=$GK_SOURCE_DIR/tests/integration/watch/metrics.py
CATALOG=$GK_SOURCE_DIR/data/xid-catalog.json
BOOT=11111111-2222-3333-4444-555555555555

# new_case NAME [CONFIG-JSON-MEMBERS]: a fresh state dir, fake rungs and config for one case.
new_case()
{
	C=$GK_TMP/$1
	mkdir -p "$C/state" "$C/fake" "$C/proc" "$C/prom"
	export FAKE_DIR=$C/fake
	cat >"$C/config.json" <<EOF_CONFIG
{
	"debounce_ms": 2000,
	"procedure_state_dir": "$C/proc",
	"rungs": {
		"reset": {"command": ["$FAKE", "reset", "{gpu}"], "timeout_s": 5},
		"reload": {"command": ["$FAKE", "reload"], "timeout_s": 5},
		"reboot": {"command": ["$FAKE", "reboot"], "timeout_s": 5}
	}${2:+,
	$2}
}
EOF_CONFIG
	: >"$C/log"
}

# rec SEQ SECONDS MESSAGE [PRIO]: appends one record in /dev/kmsg's format to the case's log.
rec()
{
	printf '%s,%s,%s,-;%s\n' "${4:-3}" "$1" "$(($2 * 1000000))" "$3" >>"$C/log"
}

xid()
{
	rec "$1" "$2" "NVRM: Xid (PCI:$3): $4, pid='<unknown>', name=<unknown>, injected"
}

watch()
{
	"$GPUKEEP" watch --config "$C/config.json" --catalog "$CATALOG" --state-dir "$C/state" \
		--kmsg "$C/log" --boot-id "$BOOT" --textfile-dir "$C/prom" --once "$@"
}

calls()
{
	if [ -f "$C/fake/calls" ]; then tr '\n' ';' <"$C/fake/calls"; fi
}

metrics()
{
	"$PROM_PY" "$METRICS" "$C/prom/gpukeep-watch.prom" "$@"
}

events_of()
{
	grep -c "\"type\":\"$1\"" "$C/state/events.log"
}

# --- observe mode changes nothing -------------------------------------------------------
new_case observe
xid 1 5 0000:07:00 119
xid 2 20 0000:08:00 79
gk_expect_exit 4 "observe: a log with Xid 119 and 79 (node would be rebooted)" -- watch --from-start
gk_check "observe: no rung command ran" -- test ! -e "$C/fake/calls"
gk_check "observe: the reset and the reboot are reported as observed" -- \
	test "$(events_of action-observed)" = 2
gk_check "observe: the report says what it would run" -- \
	grep -q '"type":"action-observed".*"command":\["[^"]*fake-rung","reset","{gpu}"\]' \
	"$C/state/events.log"
gk_check "observe: no action is recorded in the guards' state" -- \
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["actions"]==[] and not s["pending"]' \
	"$C/state/watch.state"
gk_check "observe: metrics count the observed rungs" -- metrics \
	'gpukeep_ladder_actions_total{rung="reset",result="observed"}=1' \
	'gpukeep_ladder_actions_total{rung="reboot",result="observed"}=1' \
	'gpukeep_ladder_actions_total{rung="reset",result="ok"}=0' 'gpukeep_watch_act_mode=0'

# --- Xid 13 is only counted -------------------------------------------------------------
new_case xid13
rec 1 1 "NVRM: GPU at PCI:0000:07:00: GPU-0a0b0c0d-1111-2222-3333-444455556666"
for i in 2 3 4; do xid "$i" 5 0000:07:00 13; done
rec 5 6 "NVRM: Xid (0000:07:00): 13, Channel 00000001"
gk_expect_exit 0 "Xid 13 with --act" -- watch --act --from-start
gk_check "Xid 13: no rung ran" -- test ! -e "$C/fake/calls"
gk_check "Xid 13: four lines (old format too) counted per GPU with its UUID, one decision" -- metrics \
	'gpukeep_xid_errors_total{gpu="0000:07:00",uuid="GPU-0a0b0c0d-1111-2222-3333-444455556666",xid="13"}=4' \
	'gpukeep_ladder_decisions_total{rung="none"}=1' 'gpukeep_kmsg_records_total=5' \
	'gpukeep_node_healthy=1' 'gpukeep_watch_act_mode=1'

# --- Xid 79: rung 3 at once, unless the site resets first --------------------------------
new_case xid79
xid 1 5 0000:08:00 79
rec 2 5 "NVRM: GPU 0000:08:00.0: GPU has fallen off the bus."
gk_expect_exit 4 "Xid 79 with --act: the node is marked unhealthy" -- watch --act --from-start
gk_check "Xid 79: the reboot command ran, nothing else" -- test "$(calls)" = "reboot ;"
gk_check "Xid 79: marked unhealthy before the reboot" -- \
	python3 -c 'import json,sys
t=[json.loads(l)["type"] for l in open(sys.argv[1])]
assert t.index("node-unhealthy") < t.index("action-started"), t' "$C/state/events.log"
gk_check "Xid 79: the Xid line and its fallen-off line are one Xid" -- metrics \
	'gpukeep_xid_errors_total{gpu="0000:08:00",uuid="",xid="79"}=1' \
	'gpukeep_ladder_actions_total{rung="reboot",result="ok"}=1' 'gpukeep_node_healthy=0'

new_case xid79-site '"overrides": {"79": "RESET_GPU"}'
xid 1 5 0000:08:00 79
echo "4 reload" >"$C/fake/reset.queue"
gk_expect_exit 0 "Xid 79, site policy resets first: the reset fails, the reload works" -- \
	watch --act --from-start
gk_check "Xid 79 site policy: reset of that GPU, then the reload" -- \
	test "$(calls)" = "reset 0000:08:00.0;reload ;"

# --- the same Xid again after a successful reset climbs ---------------------------------
new_case escalate
xid 1 5 0000:07:00 119
xid 2 30 0000:07:00 119
gk_expect_exit 0 "Xid 119 twice, 25 s apart" -- watch --act --from-start
gk_check "escalation: reset first, then the reload" -- test "$(calls)" = "reset 0000:07:00.0;reload ;"
gk_check "escalation: the decision says why" -- \
	grep -q 'again 2[0-9] s after a successful reset: climbs to reload' "$C/state/events.log"

# --- the climb: reset did not bring the GPU back, reload failed too ---------------------
new_case climb
xid 1 5 0000:07:00 119
echo "4 reload" >"$C/fake/reset.queue"
echo "4 reboot" >"$C/fake/reload.queue"
gk_expect_exit 4 "Xid 119, reset and reload both fail" -- watch --act --from-start
gk_check "climb: reset, reload, reboot" -- test "$(calls)" = "reset 0000:07:00.0;reload ;reboot ;"
gk_check "climb: each rung's result counted" -- metrics \
	'gpukeep_ladder_actions_total{rung="reset",result="failed"}=1' \
	'gpukeep_ladder_actions_total{rung="reload",result="failed"}=1' \
	'gpukeep_ladder_actions_total{rung="reboot",result="ok"}=1'
gk_check "climb: the rung's own JSON report is in the action's event" -- \
	grep -q '"type":"action-ended".*"report":{"schema":"fake.reset"' "$C/state/events.log"

# --- patterns across GPUs -----------------------------------------------------------------
new_case pattern
xid 1 5 0000:07:00 13
xid 2 10 0000:08:00 13
xid 3 15 0000:09:00 13
gk_expect_exit 0 "Xid 13 on three GPUs within a minute" -- watch --act --from-start
gk_check "pattern: the driver rung (reload), no reset" -- test "$(calls)" = "reload ;"

new_case resets
xid 1 5 0000:07:00 119
xid 2 5 0000:08:00 119
gk_expect_exit 0 "Xid 119 on two GPUs at once" -- watch --act --from-start
gk_check "resets on two GPUs: the reload instead" -- test "$(calls)" = "reload ;"

# --- the circuit breaker stops the Nth action ----------------------------------------------
new_case breaker '"breaker": {"max_actions": 2}, "pattern": {"reset_gpus": 9}'
xid 1 5 0000:07:00 119
xid 2 100 0000:08:00 119
xid 3 200 0000:09:00 119
gk_expect_exit 4 "three resets with a budget of two" -- watch --act --from-start
gk_check "breaker: two resets ran, the third did not" -- \
	test "$(calls)" = "reset 0000:07:00.0;reset 0000:08:00.0;"
gk_check "breaker: the guard event names the breaker" -- \
	grep -q '"type":"guard","guard":"circuit-breaker"' "$C/state/events.log"
gk_check "breaker: metrics show it open and the blocked action" -- metrics \
	'gpukeep_guard_breaker_open=1' 'gpukeep_guard_trips_total=1' \
	'gpukeep_ladder_actions_total{rung="reset",result="blocked"}=1'
xid 4 300 0000:0a:00 119
gk_expect_exit 4 "breaker: still open after a restart" -- watch --act
gk_check "breaker: the new fault ran nothing" -- test "$(calls)" = "reset 0000:07:00.0;reset 0000:08:00.0;"
gk_expect_exit 0 "--reset-guard" -- "$GPUKEEP" watch --reset-guard --state-dir "$C/state" \
	--config "$C/config.json"
gk_check "--reset-guard says so" -- grep -q "circuit breaker closed" "$GK_TMP/last.out"
xid 5 400 0000:0b:00 119
gk_expect_exit 0 "after --reset-guard the next fault acts" -- watch --act
gk_check "breaker cleared: the reset ran" -- \
	test "$(calls)" = "reset 0000:07:00.0;reset 0000:08:00.0;reset 0000:0b:00.0;"

# --- old lines at start are not acted on; a restart goes on from the saved position -------
new_case position
xid 1 5 0000:07:00 79
xid 2 6 0000:08:00 119
gk_expect_exit 0 "old lines in the log at start" -- watch --act
gk_check "old lines: nothing ran" -- test ! -e "$C/fake/calls"
gk_check "old lines: the position is saved" -- \
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["last_seq"]==2, s' \
	"$C/state/watch.state"
xid 3 50 0000:09:00 119
gk_expect_exit 0 "a new line after a restart" -- watch --act
gk_check "restart: only the new line acted on" -- test "$(calls)" = "reset 0000:09:00.0;"
gk_expect_exit 0 "a restart with nothing new" -- watch --act
gk_check "restart: nothing ran again" -- test "$(calls)" = "reset 0000:09:00.0;"
xid 10 60 0000:0a:00 13
gk_expect_exit 0 "a gap in sequence numbers" -- watch --act
gk_check "gap: the lost records are counted" -- metrics 'gpukeep_kmsg_records_lost_total=6'
gk_expect_exit 0 "another boot id: the old position means nothing" -- watch --act --boot-id other-boot
gk_check "another boot: nothing replayed" -- test "$(calls)" = "reset 0000:09:00.0;"

# --- the watcher died during an action ----------------------------------------------------
# state_with_pending RUNG [FAULT]: a state whose last action is in flight (the watcher was killed)
state_with_pending()
{
	cat >"$C/state/watch.state" <<EOF_STATE
{"schema": "gpukeep.watch-state", "version": 1, "boot_id": "$BOOT", "kmsg_source": "$(realpath "$C/log")",
 "last_seq": 1, "next_id": 1, "breaker_tripped_at": 0, "cleared_at": 0, "pending": true,
 "actions": [{"id": 1, "at": $(date +%s), "rung": "$1", "gpu": "", "fault": "${2:-xid-13@0000:07:00}",
 "outcome": "pending", "boot_id": "$BOOT"}]}
EOF_STATE
}
new_case resume
xid 1 5 0000:07:00 13
state_with_pending reload
echo '{"schema": "gpukeep.reload-journal"}' >"$C/proc/reload.journal"
gk_expect_exit 0 "killed during a reload whose journal is there" -- watch --act
gk_check "resume: the reload ran once (it resumes its journal), nothing new" -- test "$(calls)" = "reload ;"
gk_check "resume: the event says resumed" -- test "$(events_of action-resumed)" = 1
gk_check "resume: the action is no longer pending" -- \
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert not s["pending"] and s["actions"][0]["outcome"]=="ok", s' \
	"$C/state/watch.state"

new_case unknown
xid 1 5 0000:07:00 13
state_with_pending reload
gk_expect_exit 4 "killed during a reload that left no journal" -- watch --act
gk_check "unknown outcome: nothing ran (never retried)" -- test ! -e "$C/fake/calls"
gk_check "unknown outcome: recorded as unknown" -- \
	grep -q '"type":"action-resolved".*"result":"unknown"' "$C/state/events.log"

new_case rebooted
xid 1 5 0000:07:00 13
state_with_pending reboot xid-79@0000:07:00
gk_expect_exit 0 "a reboot was pending and the boot id changed" -- watch --act --boot-id new-boot
gk_check "rebooted: resolved as rebooted, nothing ran" -- \
	grep -q '"type":"action-resolved".*"result":"rebooted"' "$C/state/events.log"
gk_check "rebooted: no call" -- test ! -e "$C/fake/calls"
xid 2 8 0000:07:00 79
# a regular file: configuration files that are FIFOs are refused (issue 15)
sed 's/"debounce_ms": 2000/"debounce_ms": 1/' "$C/config.json" >"$C/config-fast.json"
gk_expect_exit 4 "the same fault after our reboot" -- watch --act --boot-id new-boot --from-start \
	--config "$C/config-fast.json"
gk_check "reboot loop: no second reboot" -- test ! -e "$C/fake/calls"
gk_check "reboot loop: the guard says so" -- grep -q '"guard":"reboot-loop"' "$C/state/events.log"

# --- a rung that does not finish in time -------------------------------------------------
new_case timeout '"pattern": {"reset_gpus": 9}'
sed -i 's/"timeout_s": 5}/"timeout_s": 1}/' "$C/config.json"
xid 1 5 0000:07:00 119
echo "0 none 10" >"$C/fake/reset.queue"
gk_expect_exit 4 "a reset that hangs past its deadline" -- watch --act --from-start
gk_check "timeout: recorded as timeout, no climb" -- test "$(calls)" = "reset 0000:07:00.0;"
gk_check "timeout: metrics" -- metrics 'gpukeep_ladder_actions_total{rung="reset",result="timeout"}=1'

# --- what is not acted on -----------------------------------------------------------------
new_case ignored
xid 1 5 0000:07:00 200
rec 2 6 "NVRM: Xid (PCI:0000:08:00): 79, injected by user space" 14
rec 3 7 "NVRM: Xid (PCI:0000:08:00): 79x"
rec 4 8 "nvidia-nvswitch2: SXid (PCI:0000:c3:00.0): 12028, Non-fatal, Link 44 (0x0)"
gk_expect_exit 0 "an unknown Xid, a user-space line, a malformed line, a non-fatal SXid" -- \
	watch --act --from-start
gk_check "ignored: nothing ran" -- test ! -e "$C/fake/calls"
gk_check "ignored: the unknown Xid is reported" -- grep -q "is not in the catalog" "$C/state/events.log"
gk_check "ignored: counted where they belong" -- metrics \
	'gpukeep_xid_errors_total{gpu="0000:07:00",uuid="",xid="200"}=1' \
	'gpukeep_kmsg_unparsed_lines_total=1' \
	'gpukeep_sxid_errors_total{nvswitch="0000:c3:00",sxid="12028"}=1'

# --- bad input changes nothing ------------------------------------------------------------
new_case bad '"debounce": 3'
gk_expect_exit 3 "a configuration with an unknown key is refused" -- watch --act
gk_check "... naming the key" -- grep -q "unknown key 'debounce'" "$GK_TMP/last.err"
new_case badstate
echo '{"schema": "gpukeep.watch-state"}' >"$C/state/watch.state"
gk_expect_exit 3 "a malformed state is refused, never reset silently" -- watch --act
gk_check "... naming the file and the fix" -- grep -q "watch.state is unusable: .*look at it" "$GK_TMP/last.err"
gk_expect_exit 2 "an unknown option" -- "$GPUKEEP" watch --nope

# --- gpukeep events -----------------------------------------------------------------------
C=$GK_TMP/climb
gk_expect_exit 0 "gpukeep events" -- "$GPUKEEP" events --state-dir "$C/state"
gk_check "events: text lines with the decision and the actions" -- \
	grep -q "decision rung=reset: Xid 119" "$GK_TMP/last.out"
gk_check "events: the climb is there" -- grep -q "climb from=reset to=reload" "$GK_TMP/last.out"
gk_expect_exit 0 "gpukeep events --json --since 1h" -- "$GPUKEEP" events --json --since 1h --state-dir "$C/state"
gk_check "events --json: every line is a JSON event" -- \
	python3 -c 'import json,sys; [json.loads(l)["type"] for l in open(sys.argv[1])]' "$GK_TMP/last.out"
gk_expect_exit 0 "gpukeep events --since the future" -- "$GPUKEEP" events --since 2099-01-01 --state-dir "$C/state"
gk_check "... prints nothing" -- test ! -s "$GK_TMP/last.out"
gk_expect_exit 2 "gpukeep events --since nonsense" -- "$GPUKEEP" events --since yesterday-ish

# --- the scheduler's placeholders: {reason}, {drain_timeout}, {requeue}, {baseline} ---------
# sched_config NAME REQUEUE [BASELINE-KEY]: a case whose reboot and reset commands echo the
# placeholders
sched_config()
{
	new_case "$1"
	cat >"$C/config.json" <<EOF_CONFIG
{
	"procedure_state_dir": "$C/proc",${3:-}
	"scheduler": {"drain_timeout_s": 77, "requeue": $2},
	"rungs": {
		"reset": {"command": ["$FAKE", "reset", "--drain", "--drain-timeout", "{drain_timeout}", "{requeue}", "--reason", "{reason}", "{baseline}"], "timeout_s": 5},
		"reload": {"command": ["$FAKE", "reload"], "timeout_s": 5},
		"reboot": {"command": ["$FAKE", "reboot", "--reason", "{reason}", "{requeue}", "{baseline}"], "timeout_s": 5}
	}
}
EOF_CONFIG
}
sched_config sched-requeue true "
	\"baseline\": \"$GK_TMP/site baseline.json\","
xid 1 5 0000:08:00 79
gk_expect_exit 4 "Xid 79, requeue and a baseline configured" -- watch --act --from-start
gk_check "... the reboot is told the fault in words, --requeue and the watcher's baseline" -- \
	test "$(calls)" = "reboot --reason Xid 79 on 0000:08:00.0, reboot --requeue --baseline $GK_TMP/site baseline.json;"
sched_config sched-wait false
xid 1 5 0000:07:00 119
gk_expect_exit 0 "Xid 119, no requeue, no baseline" -- watch --act --from-start
gk_check "... the reset gets the drain timeout, no --requeue, the fault in words, no --baseline" -- \
	test "$(calls)" = "reset --drain --drain-timeout 77 --reason Xid 119 on 0000:07:00.0, reset;"
new_case badsched '"scheduler": {"requeue": "yes"}'
gk_expect_exit 3 "a scheduler key with a bad value is refused" -- watch --act
gk_check "... names it" -- grep -q "'scheduler.requeue' takes true or false" "$GK_TMP/last.err"

gk_done
