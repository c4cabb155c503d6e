#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep reset on the simulated node: one GPU of 8 reset while holders run on two others (they
# survive, their GPUs are not re-initialized); a holder on the reset GPU refused without --kill,
# stopped with it; a lost GPU brought back; fail_reset: exit 4 with next_rung reload, then a
# reload brings it back; a reset killed mid-way, refused by a reload, finished by a re-run; a
# reset and a reload at once (one is refused).
# shellcheck disable=SC2016 # guest commands: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare
e2e_need_gpukeep

boot main --gpus 8 --timeout 400 -- '
S="--socket /run/gpukeep/socket --state-dir /var/lib/gpukeep"
D=/sys/kernel/debug/nvidia_sim
mkdir -p /run/gpukeep /var/lib/gpukeepd
gpukeepd --foreground --runtime-dir /run/gpukeep --state-dir /var/lib/gpukeepd >/out/daemon.log 2>&1 &
echo $! >/out/daemon.pid
for i in $(seq 50); do [ -S /run/gpukeep/socket ] && break; sleep 0.1; done
counts() { for g in 0 1 2 3 4 5 6 7; do printf "%s/%s/%s " "$(cat $D/gpu$g/init_count)" "$(cat $D/gpu$g/deinit_count)" "$(cat $D/gpu$g/reset_count)"; done; }
daemon_fds() { ls -l /proc/$(cat /out/daemon.pid)/fd 2>/dev/null | grep -c "/dev/nvidia[0-9]"; }
opens() { nvsim-open time "$1" >/dev/null 2>&1 && echo yes || echo no; }
sleep 3
sleep 601 </dev/nvidia1 & echo $! >/out/h1.pid
sleep 601 </dev/nvidia6 & echo $! >/out/h6.pid
sleep 0.5
counts >/out/counts.before

# one GPU of 8, others held: they survive, their GPUs are not re-initialized
gpukeep reset -i 3 --dry-run $S >/out/dry.txt 2>&1; echo $? >/out/dry.rc
gpukeep reset -i 3 --json $S >/out/one.json 2>/out/one.progress; echo $? >/out/one.rc
counts >/out/counts.after
kill -0 $(cat /out/h1.pid) && kill -0 $(cat /out/h6.pid) && echo alive >/out/others || echo gone >/out/others
daemon_fds >/out/fds.one
ls /var/lib/gpukeep >/out/state.one

# a holder on the reset GPU: refused without --kill, stopped with it
sleep 601 </dev/nvidia2 & echo $! >/out/h2.pid
sleep 0.5
gpukeep reset -i 0000:04:00.0 $S >/out/nokill.txt 2>&1; echo $? >/out/nokill.rc
gpukeep reset -i 2 $S >/out/nokill2.txt 2>&1; echo $? >/out/nokill2.rc
gpukeep reset -i 2 --kill --grace 2 $S >/out/kill.txt 2>&1; echo $? >/out/kill.rc
kill -0 $(cat /out/h2.pid) 2>/dev/null && echo alive >/out/h2.after || echo gone >/out/h2.after

# a reset that does not bring the GPU back: exit 4, next rung reload; the reload brings it back
echo 1 >$D/gpu4/fail_reset
gpukeep reset -i 4 --json $S >/out/fail.json 2>/out/fail.progress; echo $? >/out/fail.rc
opens /dev/nvidia4 >/out/fail.opens
gpukeep reload --kill --grace 2 $S >/out/reload.txt 2>&1; echo $? >/out/reload.rc
opens /dev/nvidia4 >/out/reload.opens
sleep 601 </dev/nvidia1 & echo $! >/out/h1b.pid
sleep 601 </dev/nvidia6 &

# killed right after its reset step: a reload refuses, the next reset finishes it
GK_TEST_CRASH_AFTER=reset gpukeep reset -i 7 $S >/out/crash.txt 2>&1; echo $? >/out/crash.rc
ls /var/lib/gpukeep >/out/state.crash
daemon_fds >/out/fds.crash
gpukeep reload --kill $S >/out/blocked.txt 2>&1; echo $? >/out/blocked.rc
gpukeep reset --dry-run $S >/out/resume-dry.txt 2>&1; echo $? >/out/resume-dry.rc
gpukeep reset $S >/out/resume.txt 2>&1; echo $? >/out/resume.rc
daemon_fds >/out/fds.resume

# a reset and a reload at once: the reset waits on a holder that ignores SIGTERM
sh -c "trap \"\" TERM; exec 3</dev/nvidia0; while :; do sleep 1; done" & echo $! >/out/stubborn.pid
sleep 0.5
gpukeep reset -i 0 --kill --grace 4 $S >/out/first.txt 2>&1 & FIRST=$!
echo $FIRST >/out/first.pid
sleep 1.5
gpukeep reload --kill $S >/out/second.txt 2>&1; echo $? >/out/second.rc
wait $FIRST; echo $? >/out/first.rc

# last: a rescanned function goes to the end of the bus, so a later driver load would number
# the GPUs differently. A lost GPU the daemon does not hold: found by its failing open,
# removed and rescanned.
gpukeep pm -i 5 0 --socket /run/gpukeep/socket >/dev/null 2>&1
echo 1 >$D/gpu5/lost
opens /dev/nvidia5 >/out/lost.before
gpukeep reset -i 5 --json $S >/out/lost.json 2>/out/lost.progress; echo $? >/out/lost.rc
opens /dev/nvidia5 >/out/lost.after
'
rd() { cat "$E2E_TMP/main/$1" 2>/dev/null || echo "(missing $1)"; }
check "the boot ran" same "$(cat "$E2E_TMP/main.rc")" 0

check "--dry-run exits 0" same "$(rd dry.rc)" 0
check "... shows the GPU and the NVLink rule" grep -q "reset 1 GPU(s): 0000:04:00.0; NVLink" "$E2E_TMP/main/dry.txt"
check "reset one GPU of 8: exit 0" same "$(rd one.rc)" 0
pcheck main "... every step done, schema gpukeep.reset, the GPU back" \
	'j("one.json")["schema"] == "gpukeep.reset" and [s["status"] for s in j("one.json")["steps"]] == ["done"] * 9 and j("one.json")["gpus"] == [{"pci": "0000:04:00.0", "method": "function", "back": True}] and j("one.json")["next_rung"] == "none"'
pcheck main "... the reset GPU was reset once, the others not re-initialized nor reset" \
	'[c.split("/") for c in out.text("counts.before").split()][:3] + [c.split("/") for c in out.text("counts.before").split()][4:] == [c.split("/") for c in out.text("counts.after").split()][:3] + [c.split("/") for c in out.text("counts.after").split()][4:] and out.text("counts.after").split()[3].split("/")[2] == "1"'
check "... the holders on two other GPUs survived" same "$(rd others)" alive
check "... gpukeepd holds the 8 GPUs again" same "$(rd fds.one)" 8
check "... the journal is kept as reset.journal.last" grep -q "^reset.journal.last$" "$E2E_TMP/main/state.one"

check "a GPU whose holders are on other GPUs: not refused (exit 0)" same "$(rd nokill.rc)" 0
check "a holder on the GPU, no --kill: refused (exit 3)" same "$(rd nokill2.rc)" 3
check "... naming the holder and --kill" grep -q "0000:03:00.0 is in use: pid .* (sleep).*rerun with --kill" "$E2E_TMP/main/nokill2.txt"
check "with --kill: the holder is stopped and the GPU reset (exit 0)" same "$(rd kill.rc)/$(rd h2.after)" "0/gone"

check "a lost GPU does not open before the reset" same "$(rd lost.before)" no
check "... the reset brings it back (exit 0)" same "$(rd lost.rc)" 0
pcheck main "... by remove and rescan" 'j("lost.json")["gpus"][0]["method"] == "remove-rescan"'
check "... it opens again" same "$(rd lost.after)" yes

check "fail_reset: exit 4" same "$(rd fail.rc)" 4
pcheck main "... next_rung reload, the GPU named" \
	'j("fail.json")["next_rung"] == "reload" and any(d["object"] == "0000:05:00.0" for d in j("fail.json")["differences"]) and j("fail.json")["gpus"][0]["back"] is False'
check "... the GPU does not open" same "$(rd fail.opens)" no
check "... a reload brings it back (exit 0)" same "$(rd reload.rc)/$(rd reload.opens)" "0/yes"

check "a reset killed after its reset step dies by SIGKILL" same "$(rd crash.rc)" 137
check "... leaving its journal" grep -q "^reset.journal$" "$E2E_TMP/main/state.crash"
check "... a reload meanwhile is refused (exit 3)" same "$(rd blocked.rc)" 3
check "... saying to finish the reset first" grep -q "an interrupted reset must be finished first.*gpukeep reset" "$E2E_TMP/main/blocked.txt"
check "... a dry run shows the resume" grep -q "a real run would resume the reset" "$E2E_TMP/main/resume-dry.txt"
check "... the next reset finishes it (exit 0)" same "$(rd resume.rc)" 0
check "... not resetting again" grep -q "step 4/9: reset: done by an earlier run" "$E2E_TMP/main/resume.txt"
check "... gpukeepd holds the 8 GPUs again" same "$(rd fds.crash)/$(rd fds.resume)" "7/8"

check "a reload during a reset: refused (exit 3)" same "$(rd second.rc)" 3
check "... naming the reset and its pid" grep -q "another reset is running (pid $(rd first.pid))" "$E2E_TMP/main/second.txt"
check "... the reset finishes (exit 0)" same "$(rd first.rc)" 0

e2e_done
