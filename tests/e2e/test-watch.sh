#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep watch on the simulated node, on the real /dev/kmsg with the fake driver's Xid lines
# (kernel records, facility 0): lines present at start are not acted on; Xid 13 on one GPU is
# only counted; Xid 13 on three GPUs is the driver's pattern and runs the real gpukeep reload;
# Xid 79 goes to rung 3 at once (the reboot command replaced by one that records its call);
# observe mode changes nothing. Each step is one 'gpukeep watch --once', which goes on from the
# position the previous one saved. Boot 2: the watcher (following /dev/kmsg) killed during the
# reload it started, with the reload itself: started again, it resumes that reload from its
# journal and starts no new one.
# shellcheck disable=SC2016 # guest commands: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare
e2e_need_gpukeep

# the catalog and the configuration travel inside the guest command
CATALOG=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' \
	"$E2E_SRC/data/xid-catalog.json")
SETUP="
cat >/tmp/xid-catalog.json <<'EOF_CATALOG'
$CATALOG
EOF_CATALOG
"'
cat >/tmp/watch.json <<EOF_CONFIG
{"debounce_ms": 500, "validate_period_s": 0, "probe_period_s": 0,
 "rungs": {"reboot": {"command": ["/bin/sh", "-c", "echo reboot >>/out/reboot.calls"]}}}
EOF_CONFIG
D=/sys/kernel/debug/nvidia_sim
W="gpukeep watch --once --config /tmp/watch.json --catalog /tmp/xid-catalog.json --state-dir /var/lib/gpukeep --textfile-dir /out"
loads() { dmesg | grep -c "NVRM: loading NVIDIA"; }
events() { grep -c "\"type\":\"$1\"" /var/lib/gpukeep/events.log; }
'

boot watch --gpus 3 --init-ms 50 --timeout 300 -- "$SETUP"'
# an old fault, logged before the watcher ever ran
echo "0 79" >$D/inject_xid
$W --act >/out/old.txt 2>&1; echo $? >/out/old.rc
test -e /out/reboot.calls && echo yes >/out/old.reboot || echo no >/out/old.reboot

# observe mode: a fault that would reboot; nothing runs
echo "1 79" >$D/inject_xid
$W >/out/observe.txt 2>&1; echo $? >/out/observe.rc
test -e /out/reboot.calls && echo yes >/out/observe.reboot || echo no >/out/observe.reboot
events action-observed >/out/observe.events

# Xid 13 on one GPU: counted, nothing else
loads >/out/loads.before
echo "13" >$D/gpu1/xid
$W --act >/out/xid13.txt 2>&1; echo $? >/out/xid13.rc
cp /out/gpukeep-watch.prom /out/xid13.prom

# Xid 13 on all three GPUs at once: the driver, not one GPU: the real reload
for g in 0 1 2; do echo "13 Graphics SM Warp Exception" >$D/gpu$g/xid; done
$W --act >/out/pattern.txt 2>&1; echo $? >/out/pattern.rc
loads >/out/loads.after
cp /out/gpukeep-watch.prom /out/pattern.prom
grep "\"type\":\"action-ended\"" /var/lib/gpukeep/events.log >/out/pattern.ended

# Xid 79: rung 3 at once
echo "2 79" >$D/inject_xid
$W --act >/out/xid79.txt 2>&1; echo $? >/out/xid79.rc
cat /out/reboot.calls >/out/xid79.reboot 2>&1
cp /var/lib/gpukeep/events.log /out/events.log
gpukeep events --state-dir /var/lib/gpukeep >/out/events.txt 2>&1; echo $? >/out/events.rc
'

# --- boot 2: killed during a reload ------------------------------------------------------------
boot resume --gpus 3 --init-ms 50 --timeout 300 -- "$SETUP"'
$W --act >/dev/null 2>&1
# a holder that ignores SIGTERM keeps the reload in its grace period (10 s)
sh -c "trap \"\" TERM; exec 3</dev/nvidia0; while :; do sleep 1; done" &
echo $! >/out/stubborn.pid
cat >/tmp/watch2.json <<EOF_CONFIG2
{"debounce_ms": 500, "validate_period_s": 0, "probe_period_s": 0,
 "rungs": {"reload": {"command": ["gpukeep", "reload", "--kill", "--grace", "10", "--json"]}}}
EOF_CONFIG2
cp /tmp/watch2.json /out/watch2.json
loads >/out/loads.before
gpukeep watch --act --config /tmp/watch2.json --catalog /tmp/xid-catalog.json --state-dir /var/lib/gpukeep >/out/follow.txt 2>&1 &
WP=$!
sleep 1
for g in 0 1 2; do echo "13" >$D/gpu$g/xid; done
for i in $(seq 100); do [ -e /var/lib/gpukeep/reload.journal ] && grep -q "\"stop\"" /var/lib/gpukeep/reload.journal 2>/dev/null && break; sleep 0.1; done
RP=$(cat /proc/$WP/task/$WP/children)
echo "$RP" >/out/reload.pid
kill -9 $WP $RP
sleep 0.5
test -e /var/lib/gpukeep/reload.journal && echo yes >/out/journal.left || echo no >/out/journal.left
grep -o "\"pending\": *true" /var/lib/gpukeep/watch.state >/out/pending.left
loads >/out/loads.killed
$W --act --config /tmp/watch2.json >/out/resumed.txt 2>&1; echo $? >/out/resumed.rc
loads >/out/loads.after
kill -0 $(cat /out/stubborn.pid) 2>/dev/null && echo alive >/out/stubborn.after || echo gone >/out/stubborn.after
test -e /var/lib/gpukeep/reload.journal && echo yes >/out/journal.after || echo no >/out/journal.after
cp /var/lib/gpukeep/events.log /out/events.log
'

v() { tr -d '\n' <"$E2E_TMP/resume/$1"; }
check "boot 2: the guest command succeeded" same "$(cat "$E2E_TMP/resume.rc")" 0
check "killed mid-reload: the reload's journal is left, the action pending" \
	same "$(v journal.left)/$(v pending.left | tr -d ' ')" 'yes/"pending":true'
check "... and the driver was not loaded again yet" same "$(v loads.killed)" "$(v loads.before)"
check "started again: exit 0" same "$(v resumed.rc)" 0
check "... the reload was finished: one load in all, not two" \
	same "$(($(v loads.after) - $(v loads.before)))" 1
check "... its journal is gone, the stubborn holder too" same "$(v journal.after)/$(v stubborn.after)" no/gone
pcheck resume "... the event log says resumed, and there is one reload decision only" \
	'(lambda t: t.count("action-resumed") == 1 and t.count("action-started") == 2 and sum(1 for l in out.lines("events.log") if "\"type\":\"decision\"" in l and "\"rung\":\"reload\"" in l) == 1)([__import__("json").loads(l)["type"] for l in out.lines("events.log")])'

v() { tr -d '\n' <"$E2E_TMP/watch/$1"; }
check "the guest command succeeded" same "$(cat "$E2E_TMP/watch.rc")" 0
check "an Xid 79 logged before the watcher started is not acted on" same "$(v old.rc)/$(v old.reboot)" 0/no
check "observe mode: Xid 79 decided (exit 4: the node would be rebooted), nothing run" \
	same "$(v observe.rc)/$(v observe.reboot)" 4/no
check "observe mode: the reboot is reported as observed" same "$(v observe.events)" 1
check "Xid 13 on one GPU: exit 0, nothing run" same "$(v xid13.rc)" 0
pcheck watch "Xid 13 on one GPU: counted once, no action" \
	'any(l.startswith("gpukeep_xid_errors_total{") and "xid=\"13\"" in l and l.endswith(" 1") for l in out.lines("xid13.prom")) and "gpukeep_ladder_actions_total{rung=\"reload\",result=\"ok\"} 0" in out.lines("xid13.prom")'
check "Xid 13 on three GPUs: the watcher exits 0" same "$(v pattern.rc)" 0
check "... after the real gpukeep reload loaded the driver again" \
	same "$(($(v loads.after) - $(v loads.before)))" 1
pcheck watch "... whose report says it ended ok" \
	'any("\"rung\":\"reload\"" in l and "\"result\":\"ok\"" in l and "\"schema\":\"gpukeep.reload\"" in l for l in out.lines("pattern.ended"))'
pcheck watch "... and the metrics count it" \
	'"gpukeep_ladder_actions_total{rung=\"reload\",result=\"ok\"} 1" in out.lines("pattern.prom")'
check "Xid 79: rung 3, the node marked unhealthy (exit 4)" same "$(v xid79.rc)" 4
check "... the reboot command ran once" same "$(v xid79.reboot)" reboot
pcheck watch "... and the node was marked unhealthy before it" \
	'(lambda t: t.index("node-unhealthy", len(t) - 6) < t.index("action-started", len(t) - 6))([__import__("json").loads(l)["type"] for l in out.lines("events.log")])'
check "gpukeep events prints the log" same "$(v events.rc)" 0
check "... with the pattern decision in words" grep -q "on 3 GPUs within 60 s: the driver" "$E2E_TMP/watch/events.txt"
e2e_done
