#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeepd on an 8-GPU fixture root: the command line, what it holds as persistence changes
# (checked in /proc/<pid>/fd), the CLI verbs, the state file across restarts, retries with
# backoff, release-all / acquire-all, --uvm-persistence-mode, READY=1, and a clean SIGTERM.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/gkd-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/gkd-lib.sh"

ROOT=$(gkd_root hgx-8gpu)
ALL="$(gkd_all_gpus 8) nvidiactl"
S=(--socket "$GKD_SOCK")

# --- command line ---
gk_expect_exit 2 "unknown option is a usage error" -- "$GPUKEEPD" --bogus
gk_expect_exit 2 "stray argument is a usage error" -- "$GPUKEEPD" extra
gk_expect_exit 2 "bad --open-timeout is a usage error" -- "$GPUKEEPD" --open-timeout x -n
gk_expect_exit 2 "unknown --user is a usage error" -- "$GPUKEEPD" --user no-such-user-gk -n
gk_expect_exit 0 "--help" -- "$GPUKEEPD" --help
gk_expect_exit 0 "--version" -- "$GPUKEEPD" --version
gk_check "--version names the program" -- grep -q '^gpukeepd ' "$GK_TMP/last.out"
gk_expect_exit 0 "-n checks the options" -- "$GPUKEEPD" -n --root "$ROOT" --runtime-dir /tmp/x-gk \
	--no-persistence-mode --uvm-persistence-mode --user nobody --open-timeout 2.5
gk_check "-n prints the effective configuration" -- grep -qE \
	'^persistence-mode +off' "$GK_TMP/last.out"
gk_check "-n prints the socket under the runtime dir" -- grep -q '/tmp/x-gk/socket' \
	"$GK_TMP/last.out"
gk_check "-n prints the open timeout" -- grep -qE '^open-timeout +2.50 s' "$GK_TMP/last.out"
gk_check "-n creates nothing" -- test ! -e /tmp/x-gk

# --- CLI without a daemon ---
# (with NVML, pm falls back to the legacy mode: test-pm-legacy.sh)
gk_expect_exit 1 "gpukeep pm without a daemon or NVML fails" -- \
	env GPUKEEP_NVML=none "$GPUKEEP" pm "${S[@]}" 1
gk_check "... and says the daemon is not running" -- grep -q 'gpukeepd is not running' \
	"$GK_TMP/last.err"
gk_check "... and that NVML, for the legacy mode, is not usable either" -- grep -q \
	'NVML is not usable' "$GK_TMP/last.err"
gk_expect_exit 1 "gpukeep status without a daemon fails" -- "$GPUKEEP" status "${S[@]}"
gk_expect_exit 2 "gpukeep pm: malformed GPU is a usage error" -- "$GPUKEEP" pm -i 0000:zz:00.0 1
gk_expect_exit 2 "gpukeep pm: bad mode is a usage error" -- "$GPUKEEP" pm 2

# --- start, READY=1 through $NOTIFY_SOCKET (abstract) ---
NOTIFY="@gk-test-notify-$$"
gkc notify "$NOTIFY" 10 >"$GK_TMP/notify.out" &
NPID=$!
for ((i = 0; i < 100; i++)); do
	grep -q listening "$GK_TMP/notify.out" 2>/dev/null && break
	sleep 0.05
done
NOTIFY_SOCKET=$NOTIFY gkd_start "$ROOT" --open-timeout 2
gk_result $? "daemon starts"
wait "$NPID"
gk_result $? "READY=1 arrives on the abstract notify socket"
gk_check "... with a status line" -- grep -q 'STATUS=holding 8 of 8 GPUs' "$GK_TMP/notify.out"
gk_check "pid file names the daemon" -- test "$(cat "$GK_TMP/run/gpukeepd.pid")" = "$GKD_PID"
gk_check "socket mode is explicit (0666)" -- test "$(stat -c %a "$GKD_SOCK")" = 666
gkd_expect_held "holds every GPU and nvidiactl" "$ROOT" "$ALL"
# Signals: SIGPIPE ignored; TERM, INT, HUP blocked for the signalfd, with no handler installed.
gk_check "SIGPIPE ignored, TERM/INT/HUP blocked and read from a signalfd, no handlers" -- \
	python3 - "/proc/$GKD_PID/status" <<'EOF'
import sys
st = dict(l.split(":", 1) for l in open(sys.argv[1]) if ":" in l)
mask = lambda k: int(st[k].strip(), 16)
bit = lambda n: 1 << (n - 1)
TERM, INT, HUP, PIPE = 15, 2, 1, 13
ok = (mask("SigIgn") & bit(PIPE) and all(mask("SigBlk") & bit(s) for s in (TERM, INT, HUP))
      and mask("SigCgt") & (bit(TERM) | bit(INT) | bit(HUP) | bit(PIPE)) == 0)
sys.exit(0 if ok else 1)
EOF
ctxt() { awk '/^(non)?voluntary_ctxt_switches/ { n += $2 } END { print n }' "/proc/$GKD_PID/status"; }
C0=$(ctxt)
sleep 2
C1=$(ctxt)
gk_check "idle: no wake-up in 2 s ($C0 -> $C1 context switches)" -- test "$C0" = "$C1"
gk_expect_exit 3 "a second instance refuses (pid file locked)" -- "$GPUKEEPD" -f --root "$ROOT" \
	--runtime-dir "$GK_TMP/run" --state-dir "$GK_TMP/state"
gk_check "... naming the running one" -- grep -q "pid $GKD_PID" "$GK_TMP/last.err"
gkd_expect_held "the second instance changed nothing" "$ROOT" "$ALL"

# --- the CLI ---
gk_expect_exit 0 "gpukeep status" -- "$GPUKEEP" status "${S[@]}"
gk_check "status: 8 GPUs, 8 held" -- grep -q '8 GPUs, 8 held, 0 stuck' "$GK_TMP/last.out"
gk_check "status: GPU 3 row" -- grep -qE \
	'^  3 +0000:5d:00.0 +3 +GPU-\S+ +on +held +gpukeepd +yes' "$GK_TMP/last.out"
gk_expect_exit 0 "gpukeep status --json" -- "$GPUKEEP" status "${S[@]}" --json
gkd_json_check "status --json has schema, 8 GPUs held" "$(cat "$GK_TMP/last.out")" \
	'r["schema"] == "gpukeep.status" and len(r["gpus"]) == 8 and all(g["state"] == "held" and g["initialized"] is True for g in r["gpus"])'

gk_expect_exit 0 "pm 0 by index" -- "$GPUKEEP" pm "${S[@]}" -i 2 0
gk_check "... reports the GPU by PCI address" -- grep -q \
	'Disabled persistence mode for GPU 0000:3a:00.0.' "$GK_TMP/last.out"
gkd_expect_held "nvidia2 released" "$ROOT" "nvidia0 nvidia1 nvidia3 nvidia4 nvidia5 nvidia6 nvidia7 nvidiactl"
gk_expect_exit 0 "pm 0 by PCI address in NVML spelling" -- "$GPUKEEP" pm "${S[@]}" \
	-i 00000000:5D:00.0 0
gk_expect_exit 0 "pm 0 by minor" -- "$GPUKEEP" pm "${S[@]}" -i minor:4 0
UUID6=$("$GPUKEEP" status "${S[@]}" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["gpus"][6]["uuid"])')
gk_expect_exit 0 "pm 0 by UUID (upper case)" -- "$GPUKEEP" pm "${S[@]}" -i "${UUID6^^}" 0
gkd_expect_held "nvidia2, 3, 4, 6 released" "$ROOT" "nvidia0 nvidia1 nvidia5 nvidia7 nvidiactl"
gk_expect_exit 2 "pm for an unknown GPU is refused" -- "$GPUKEEP" pm "${S[@]}" -i 8 1
gk_check "... with a clear message" -- grep -q 'no GPU matches "8"' "$GK_TMP/last.err"
gkd_expect_held "... and changes nothing" "$ROOT" "nvidia0 nvidia1 nvidia5 nvidia7 nvidiactl"
gk_expect_exit 0 "pm 0 for all" -- "$GPUKEEP" pm "${S[@]}" 0
gkd_expect_held "nothing held, nvidiactl included" "$ROOT" ""
gk_expect_exit 0 "pm 1 for one" -- "$GPUKEEP" pm "${S[@]}" -i 0000:18:00.0 ENABLED
gk_check "... All done." -- grep -q 'All done.' "$GK_TMP/last.out"
gkd_expect_held "nvidia0 and nvidiactl held" "$ROOT" "nvidia0 nvidiactl"
gk_expect_exit 0 "pm 1 for all" -- "$GPUKEEP" pm "${S[@]}" 1
gkd_expect_held "all held again" "$ROOT" "$ALL"
gk_expect_exit 0 "pm 0 for GPU 5 (to be remembered)" -- "$GPUKEEP" pm "${S[@]}" -i 5 0

# --- release-all / acquire-all (the driver reload's calls) ---
R=$(gkc call "$GKD_SOCK" '{"version":1,"request":"release-all","id":"r1"}')
gkd_json_check "release-all: ok, nothing pending" "$R" \
	'r["ok"] and r["id"] == "r1" and r["released_all"] and r["pending"] == 0'
gkd_expect_held "release-all closes every device file" "$ROOT" ""
gk_expect_exit 0 "pm 1 while released" -- "$GPUKEEP" pm "${S[@]}" -i 0 1
gk_check "... says the mode applies on re-acquire" -- grep -q 'release-all' "$GK_TMP/last.out"
gkd_expect_held "... and still holds nothing" "$ROOT" ""
R=$(gkc call "$GKD_SOCK" '{"version":1,"request":"acquire-all"}')
gkd_json_check "acquire-all: ok" "$R" 'r["ok"] and not r["released_all"]'
gkd_expect_held "acquire-all restores the desired set" "$ROOT" \
	"nvidia0 nvidia1 nvidia2 nvidia3 nvidia4 nvidia6 nvidia7 nvidiactl"

# --- SIGTERM: exit 0, devices released, pid file and socket removed ---
gkd_stop
gk_result $? "SIGTERM: exit 0"
gk_check "pid file removed" -- test ! -e "$GK_TMP/run/gpukeepd.pid"
gk_check "socket removed" -- test ! -e "$GKD_SOCK"
gkd_json_check "state file remembers GPU 5 off" "$(cat "$GK_TMP/state/persistence.json")" \
	'any(g["pci"] == "0000:ab:00.0" and g["persistence"] is False for g in r["gpus"])'

# --- restart: remembered modes win over the default; --no-persistence-mode for the rest ---
gkd_start "$ROOT" --open-timeout 2
gkd_expect_held "restart keeps GPU 5 off" "$ROOT" \
	"nvidia0 nvidia1 nvidia2 nvidia3 nvidia4 nvidia6 nvidia7 nvidiactl"
gkd_stop
rm -f "$GK_TMP/state/persistence.json"
gkd_start "$ROOT" --no-persistence-mode
gkd_expect_held "--no-persistence-mode holds nothing" "$ROOT" ""
gkd_stop

# --- a corrupt state file is reported and ignored ---
printf '{"schema": "gpukeepd.state", "version": 1, "gpus": [{"pci": "garbage' \
	>"$GK_TMP/state/persistence.json"
: >"$GKD_LOG"
gkd_start "$ROOT"
gk_result $? "a corrupt state file does not stop the daemon"
gk_check "... it is reported" -- grep -q 'state file .* is corrupt' "$GKD_LOG"
gkd_expect_held "... and the default applies" "$ROOT" "$ALL"
gkd_stop
# issue 15, defect 1: a null schema crashed the daemon at start, as root (SIGSEGV in strcmp)
printf '{"schema":null}\n' >"$GK_TMP/state/persistence.json"
: >"$GKD_LOG"
gkd_start "$ROOT"
gk_result $? "\"schema\": null in the state file does not crash the daemon"
gk_check "... it is reported as corrupt" -- grep -q 'state file .* is corrupt (schema is not' "$GKD_LOG"
gkd_stop
gk_result $? "... and it stops cleanly (exit 0)"
# a FIFO in the state directory must not stall the start-up (it runs as root, before the drop)
rm -f "$GK_TMP/state/persistence.json"
mkfifo "$GK_TMP/state/persistence.json"
: >"$GKD_LOG"
gkd_start "$ROOT"
gk_result $? "a FIFO as the state file does not block the start"
gk_check "... it is reported" -- grep -q 'is corrupt (not a regular file)' "$GKD_LOG"
gkd_stop
rm -f "$GK_TMP/state/persistence.json"

# --- --uvm-persistence-mode; a missing device file is retried with backoff ---
mv "$ROOT/dev/nvidia3" "$GK_TMP/nvidia3.away"
gkd_start "$ROOT" --uvm-persistence-mode
gkd_expect_held "uvm held; nvidia3 missing" "$ROOT" \
	"nvidia-uvm nvidia0 nvidia1 nvidia2 nvidia4 nvidia5 nvidia6 nvidia7 nvidiactl"
R=$(gkc call "$GKD_SOCK" '{"version":1,"request":"list"}')
gkd_json_check "GPU 3 is retrying with the error" "$R" \
	'r["gpus"][3]["state"] == "retrying" and "No such file" in r["gpus"][3]["device"]["error"] and r["gpus"][3]["device"]["failures"] >= 1'
gk_expect_exit 1 "gpukeep pm 1 reports the GPU that cannot be held" -- "$GPUKEEP" pm "${S[@]}" \
	-i 3 1
gk_check "... naming the error" -- grep -q 'GPU 0000:5d:00.0 is retrying' "$GK_TMP/last.err"
mv "$GK_TMP/nvidia3.away" "$ROOT/dev/nvidia3"
gk_check "the retry picks the file up" -- gkc wait "$GKD_SOCK" \
	'gpus[3]["state"] == "held"' 10
gkd_expect_held "now everything and uvm" "$ROOT" "$ALL nvidia-uvm"
gkd_stop
gk_result $? "SIGTERM: exit 0"

# --- nothing to hold: READY=1 at once, without waiting for a client to wake the loop ---
# (under systemd nobody connects before READY=1: the start used to time out)
NOTIFY="@gk-test-notify-idle-$$"
gkc notify "$NOTIFY" 10 >"$GK_TMP/notify-idle.out" &
NPID=$!
for ((i = 0; i < 100; i++)); do
	grep -q listening "$GK_TMP/notify-idle.out" 2>/dev/null && break
	sleep 0.05
done
NOTIFY_SOCKET=$NOTIFY "$GPUKEEPD" --foreground --root "$ROOT" --runtime-dir "$GK_TMP/run-idle" \
	--state-dir "$GK_TMP/state-idle" --no-persistence-mode 2>>"$GKD_LOG" &
GKD_PID=$!
wait "$NPID"
gk_result $? "no GPU to hold: READY=1 with no client connecting"
gk_check "... holding none" -- grep -q 'STATUS=holding 0 of 8 GPUs' "$GK_TMP/notify-idle.out"
gkd_stop
gk_result $? "SIGTERM: exit 0"

gk_done
