#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep watch following a kernel log file (the event loop): readiness and stopping through
# $NOTIFY_SOCKET, a fault appended while it runs acted on after the debounce window, the guard
# reset by SIGUSR1, SIGTERM; killed during a reload, started again: the reload is resumed and
# no new one started; and the follow mode under valgrind with no leak.
# shellcheck disable=SC2317 # helpers run through gk_check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=gkd-lib.sh
. "$(dirname "$0")/gkd-lib.sh"

FAKE=$GK_SOURCE_DIR/tests/integration/watch/fake-rung
LISTEN=$GK_SOURCE_DIR/tests/integration/watch/notify-listen.py
CATALOG=$GK_SOURCE_DIR/data/xid-catalog.json
C=$GK_TMP/follow
mkdir -p "$C/state" "$C/fake" "$C/proc" "$C/prom"
export FAKE_DIR=$C/fake
cat >"$C/config.json" <<EOF_CONFIG
{
	"debounce_ms": 500,
	"probe_period_s": 1,
	"gpukeepd_socket": "$GK_TMP/run/socket",
	"procedure_state_dir": "$C/proc",
	"rungs": {
		"reset": {"command": ["$FAKE", "reset", "{gpu}"], "timeout_s": 20},
		"reload": {"command": ["$FAKE", "reload"], "timeout_s": 20},
		"reboot": {"command": ["$FAKE", "reboot"], "timeout_s": 20}
	}
}
EOF_CONFIG
printf '3,1,1000000,-;NVRM: Xid (PCI:0000:07:00): 79, pid=1, name=x, old\n' >"$C/log"

# run in the background with &: exec, so that $! is the watcher itself
watch()
{
	exec "$GPUKEEP" watch --config "$C/config.json" --catalog "$CATALOG" --state-dir "$C/state" \
		--kmsg "$C/log" --textfile-dir "$C/prom" "$@"
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s.
wait_for()
{
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

calls()
{
	[ -f "$C/fake/calls" ] && tr '\n' ';' <"$C/fake/calls"
}

# gpukeepd on the 8-GPU fixture: the probe reads how many GPUs it holds
gkd_start "$(gkd_root hgx-8gpu)" || echo "# gpukeepd did not start"
python3 "$LISTEN" "$C/notify" "$C/notified" &
listener=$!
wait_for 5 test -S "$C/notify"
NOTIFY_SOCKET=$C/notify watch --act &
w=$!
gk_check "the watcher says READY=1" -- wait_for 10 grep -q "READY=1" "$C/notified"
gk_check "the old line in the log was not acted on" -- test ! -e "$C/fake/calls"
t0=$(date +%s%N)
printf '3,2,9000000,-;NVRM: Xid (PCI:0000:08:00): 119, pid=1, name=x, new\n' >>"$C/log"
gk_check "a line appended while it follows: the reset runs" -- \
	wait_for 10 grep -qs "reset 0000:08:00.0" "$C/fake/calls"
t1=$(date +%s%N)
gk_check "... not before the debounce window (500 ms)" -- test $(((t1 - t0) / 1000000)) -ge 500
gk_check "the watchdog is fed on the probe period" -- wait_for 5 grep -q "WATCHDOG=1" "$C/notified"
gk_check "the metrics file is written while it runs" -- \
	wait_for 5 grep -q 'gpukeep_ladder_actions_total{rung="reset",result="ok"} 1' "$C/prom/gpukeep-watch.prom"
gk_check "each probe asks gpukeepd: 8 GPUs held" -- \
	wait_for 5 grep -q '^gpukeep_gpus_held 8$' "$C/prom/gpukeep-watch.prom"
gkd_stop >/dev/null
gk_check "gpukeepd gone: the metric is left out, not 0" -- \
	wait_for 5 sh -c "! grep -q gpukeep_gpus_held '$C/prom/gpukeep-watch.prom'"
kill -USR1 "$w"
gk_check "SIGUSR1 closes the breaker (the state says when)" -- \
	wait_for 5 python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["cleared_at"] > 0' \
	"$C/state/watch.state"
kill -TERM "$w"
wait "$w"
gk_result $? "SIGTERM: the watcher exits 0"
gk_check "... after STOPPING=1" -- wait_for 5 grep -q "STOPPING=1" "$C/notified"
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null

# killed during a reload: started again, it resumes that reload, and starts no other
: >"$C/fake/calls"
echo "0 none 30" >"$C/fake/reload.queue"
export FAKE_JOURNAL=$C/proc/reload.journal
watch --act &
w=$!
sleep 1
for g in 0000:07:00 0000:09:00 0000:0a:00; do
	printf '3,%s,20000000,-;NVRM: Xid (PCI:%s): 13, pid=1, name=x, pattern\n' \
		"$(($(wc -l <"$C/log") + 1))" "$g" >>"$C/log"
done
gk_check "Xid 13 on three GPUs: the reload starts" -- wait_for 10 grep -qs "^reload" "$C/fake/calls"
gk_check "... and keeps its journal while it runs" -- wait_for 5 test -e "$FAKE_JOURNAL"
kill -KILL "$w"
wait "$w" 2>/dev/null
kill -KILL "$(cat "$C/fake/reload.pid")"
gk_check "killed mid-action: the state says the reload is pending" -- \
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["pending"] and s["actions"][-1]["rung"]=="reload", s' \
	"$C/state/watch.state"
gk_check "... and the journal is left behind" -- test -e "$FAKE_JOURNAL"
: >"$C/fake/calls"
gk_expect_exit 0 "started again" -- "$GPUKEEP" watch --config "$C/config.json" --catalog "$CATALOG" \
	--state-dir "$C/state" --kmsg "$C/log" --act --once
gk_check "the reload is resumed, once, and nothing new is started" -- test "$(calls)" = "reload ;"
gk_check "the event log says it was resumed" -- grep -q '"type":"action-resumed"' "$C/state/events.log"
gk_check "the journal is gone: the reload finished" -- test ! -e "$FAKE_JOURNAL"
unset FAKE_JOURNAL

# NVML's recovery action (the fake libnvidia-ml): GPU 2 asks for a reset, once
python3 - "$GK_SOURCE_DIR/tests/fakenvml/states/hgx-8gpu.json" "$C/nvml.json" <<'EOF_NVML'
import json, sys
d = json.load(open(sys.argv[1]))
d["gpus"][2]["recovery_action"] = 1
json.dump(d, open(sys.argv[2], "w"))
EOF_NVML
: >"$C/fake/calls"
GPUKEEP_NVML=$GK_BUILD_DIR/tests/fakenvml/libfakenvml.so FAKENVML_STATE=$C/nvml.json watch --act &
w=$!
gk_check "NVML's recovery action 'GPU reset' for GPU 2: that GPU is reset" -- \
	wait_for 10 grep -qs "reset 0000:3a:00.0" "$C/fake/calls"
sleep 2.5
gk_check "... once, not on every probe" -- test "$(calls)" = "reset 0000:3a:00.0;"
gk_check "... and the decision says why" -- \
	grep -q 'recovery action for 0000:3a:00 is GPU reset (1)","source":"recovery-action"' "$C/state/events.log"
kill -TERM "$w"
wait "$w"

# gpukeepd with a GPU stuck opening (a FIFO in place of /dev/nvidia2): reported once, not acted on
stuck_root=$(gkd_root hgx-8gpu)
rm -f "$stuck_root/dev/nvidia2"
mkfifo -m 0666 "$stuck_root/dev/nvidia2"
if gkd_start "$stuck_root" --open-timeout 0.5; then
	: >"$C/fake/calls"
	: >"$C/state/events.log"
	watch --observe &
	w=$!
	gk_check "a GPU stuck in gpukeepd: a gpu-stuck event" -- \
		wait_for 10 grep -q '"type":"gpu-stuck"' "$C/state/events.log"
	gk_check "... and the 7 others held" -- \
		wait_for 5 grep -q '^gpukeep_gpus_held 7$' "$C/prom/gpukeep-watch.prom"
	sleep 2.5
	gk_check "... once, not on every probe" -- \
		test "$(grep -c '"type":"gpu-stuck"' "$C/state/events.log")" = 1
	gk_check "... and nothing run" -- test ! -s "$C/fake/calls"
	kill -TERM "$w"
	wait "$w"
	gkd_stop >/dev/null
else
	gk_result 1 "gpukeepd starts with a hanging open"
fi

if grep -qa __asan_init "$GPUKEEP"; then
	echo "# valgrind cannot run a sanitizer build; the sanitizers check this one"
elif command -v valgrind >/dev/null; then
	: >"$C/fake/calls"
	valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 --log-file="$C/valgrind.log" \
		"$GPUKEEP" watch --config "$C/config.json" --catalog "$CATALOG" --state-dir "$C/state" \
		--kmsg "$C/log" --textfile-dir "$C/prom" --act &
	w=$!
	sleep 3
	printf '3,%s,30000000,-;NVRM: Xid (PCI:0000:0b:00): 119, pid=1, name=x, vg\n' \
		"$(($(wc -l <"$C/log") + 1))" >>"$C/log"
	gk_check "under valgrind: the reset runs" -- wait_for 30 grep -qs "reset 0000:0b:00.0" "$C/fake/calls"
	sleep 1
	kill -TERM "$w"
	wait "$w"
	rc=$?
	gk_result "$rc" "under valgrind: no leak, no error (exit 0)"
	if [ "$rc" != 0 ]; then sed 's/^/# /' "$C/valgrind.log" | head -40; fi
else
	echo "# valgrind is not installed: the leak check did not run"
fi

gk_done
