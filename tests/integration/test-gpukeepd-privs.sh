#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Privileges: started as root with --user nobody --group nogroup, the daemon ends with every uid
# and gid dropped, no supplementary groups, no capabilities and NoNewPrivs, still holding the
# devices, and still able to save its state and remove its pid file and socket. Authorisation:
# the CLI run as an unprivileged user reads, but its changes are refused with a clear message
# and change nothing, unless the user is in the daemon's --group (primary or supplementary).

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/gkd-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/gkd-lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	gk_result 0 "# SKIP privilege drop and authorisation need root and setpriv (util-linux)"
	gk_done
fi

ROOT=$(gkd_root hgx-8gpu)
ALL="$(gkd_all_gpus 8) nvidiactl"
NOGROUP=$(getent group nogroup | cut -d: -f3)
S=(--socket "$GKD_SOCK")
# as_nobody CMD...: runs CMD as uid 65534 with primary gid 65534 and no supplementary groups.
as_nobody()
{
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# --- privilege drop ---
gkd_start "$ROOT" --user nobody --group nogroup
gk_result $? "daemon starts with --user nobody --group nogroup"
ST=/proc/$GKD_PID/status
gk_check "Uid: real, effective, saved, fs all 65534" -- grep -qE '^Uid:\s+65534\s+65534\s+65534\s+65534$' "$ST"
gk_check "Gid: all $NOGROUP" -- grep -qE "^Gid:\s+$NOGROUP\s+$NOGROUP\s+$NOGROUP\s+$NOGROUP$" "$ST"
gk_check "Groups: none (root's supplementary groups cleared)" -- grep -qE '^Groups:\s*$' "$ST"
gk_check "NoNewPrivs: 1" -- grep -qE '^NoNewPrivs:\s+1$' "$ST"
gk_check "no effective or permitted capabilities" -- \
	grep -qE '^CapEff:\s+0+$' "$ST"
gk_check "... permitted" -- grep -qE '^CapPrm:\s+0+$' "$ST"
gk_check "... and an empty bounding set (issue 15, defect 8)" -- grep -qE '^CapBnd:\s+0+$' "$ST"
gkd_expect_held "still holds every device after the drop" "$ROOT" "$ALL"
gk_check "runtime dir owned by nobody:nogroup" -- \
	test "$(stat -c %u:%g "$GK_TMP/run")" = "65534:$NOGROUP"
gk_check "socket owned by nobody:nogroup, mode 666" -- \
	test "$(stat -c %u:%g:%a "$GKD_SOCK")" = "65534:$NOGROUP:666"
gk_expect_exit 0 "root changes persistence" -- "$GPUKEEP" pm "${S[@]}" -i 1 0
gk_check "... and the dropped daemon saved the state file" -- grep -q '0000:2a:00.0' \
	"$GK_TMP/state/persistence.json"
gkd_expect_held "GPU 1 released" "$ROOT" "nvidia0 $(gkd_all_gpus 8 | sed 's/ nvidia0 nvidia1//') nvidiactl"
gk_expect_exit 0 "a member of --group (primary gid) may change it" -- as_nobody "$GPUKEEP" pm \
	"${S[@]}" -i 1 1
gkd_expect_held "GPU 1 held again" "$ROOT" "$ALL"
# the state file cannot be saved (a full or read-only disk; here: no write permission)
SUM=$(md5sum <"$GK_TMP/state/persistence.json")
chmod 0555 "$GK_TMP/state"
gk_expect_exit 1 "a change whose state file cannot be saved fails" -- "$GPUKEEP" pm "${S[@]}" -i 2 0
gk_check "... saying nothing changed" -- grep -q "cannot save the state file in .*nothing changed" \
	"$GK_TMP/last.err"
gkd_expect_held "... GPU 2 is still held" "$ROOT" "$ALL"
gk_check "... and the old state file is whole" -- test "$(md5sum <"$GK_TMP/state/persistence.json")" = "$SUM"
chmod 0755 "$GK_TMP/state"
kill -HUP "$GKD_PID"
gk_check "SIGHUP re-enumerates after the drop" -- gkc wait "$GKD_SOCK" 'len(gpus) == 8' 5
gkd_stop
gk_result $? "SIGTERM: exit 0"
gk_check "pid file removed after the drop" -- test ! -e "$GK_TMP/run/gpukeepd.pid"
gk_check "socket removed after the drop" -- test ! -e "$GKD_SOCK"

# --- directories (issue 15, defect 5): created for the daemon, never taken from someone else ---
# run/ and state/ now belong to nobody: a daemon that stays root must not take them back
: >"$GKD_LOG"
"$GPUKEEPD" --foreground --root "$ROOT" --runtime-dir "$GK_TMP/run" --state-dir "$GK_TMP/state" \
	2>>"$GKD_LOG"
gk_result $(($? != 1)) "a runtime directory owned by another uid is refused (exit 1)"
gk_check "... naming it and the fix" -- grep -q \
	"refusing --runtime-dir $GK_TMP/run: it exists and belongs to uid 65534, not to the daemon's uid 0" \
	"$GKD_LOG"
gk_check "... and left as it was" -- test "$(stat -c %u:%a "$GK_TMP/run")" = 65534:755
rm -rf "$GK_TMP/run" "$GK_TMP/state"
mkdir -m 1777 "$GK_TMP/tmp"
: >"$GKD_LOG"
"$GPUKEEPD" --foreground --root "$ROOT" --runtime-dir "$GK_TMP/run" --state-dir "$GK_TMP/tmp" \
	--user nobody 2>>"$GKD_LOG"
gk_result $(($? != 1)) "--state-dir on a world-writable directory (/tmp) is refused (exit 1)"
gk_check "... naming it" -- grep -q "refusing --state-dir $GK_TMP/tmp: it is writable by everyone (mode 1777)" \
	"$GKD_LOG"
gk_check "... and it keeps its owner and mode (was turned into 0755 nobody)" -- \
	test "$(stat -c %u:%a "$GK_TMP/tmp")" = 0:1777
mkdir -m 0755 "$GK_TMP/srv"
"$GPUKEEPD" --foreground --root "$ROOT" --runtime-dir "$GK_TMP/run" --state-dir "$GK_TMP/srv" \
	--user nobody 2>>"$GKD_LOG"
gk_result $(($? != 1)) "a root-owned directory not named gpukeep is refused"
gk_check "... and not chowned" -- test "$(stat -c %u:%a "$GK_TMP/srv")" = 0:755
# what systemd's StateDirectory= makes: root-owned, named gpukeep: adopted
rm -rf "$GK_TMP/run"
mkdir -m 0700 "$GK_TMP/gpukeep"
gkd_start "$ROOT" --user nobody --group nogroup --state-dir "$GK_TMP/gpukeep"
gk_result $? "a root-owned directory named gpukeep (systemd's StateDirectory=) is adopted"
gk_check "... given to the daemon user, mode 0755" -- \
	test "$(stat -c %u:%g:%a "$GK_TMP/gpukeep")" = "65534:$NOGROUP:755"
gkd_stop
gkd_start "$ROOT" --user nobody --group nogroup --state-dir "$GK_TMP/gpukeep"
gk_result $? "the daemon's own directories are used again at the next start"
gkd_stop
rm -rf "$GK_TMP/run" "$GK_TMP/state" "$GK_TMP/gpukeep"

# --- authorisation: the daemon's group is adm (gid 4); nobody is not in it ---
ADM=$(getent group adm | cut -d: -f3)
gkd_start "$ROOT" --group adm
gk_result $? "daemon starts with --group adm"
gk_expect_exit 0 "unprivileged: gpukeep status works" -- as_nobody "$GPUKEEP" status "${S[@]}"
gk_check "... and shows the GPUs" -- grep -q '8 GPUs, 8 held' "$GK_TMP/last.out"
gk_expect_exit 3 "unprivileged: gpukeep pm is refused" -- as_nobody "$GPUKEEP" pm "${S[@]}" 0
gk_check "... with a clear message" -- grep -q \
	"needs root or membership in group 'adm'; uid 65534 is not allowed" "$GK_TMP/last.err"
gkd_expect_held "... and nothing changed" "$ROOT" "$ALL"
gk_expect_exit 3 "unprivileged: pm for one GPU is refused" -- as_nobody "$GPUKEEP" pm "${S[@]}" \
	-i 0 0
for req in release-all acquire-all reenumerate; do
	R=$(as_nobody /usr/bin/python3 "$GK_SOURCE_DIR/tests/integration/gkd-client.py" call \
		"$GKD_SOCK" "{\"version\":1,\"request\":\"$req\"}")
	gkd_json_check "unprivileged: $req is refused" "$R" \
		'not r["ok"] and r["error"] == "permission-denied"'
done
gkd_expect_held "nothing changed" "$ROOT" "$ALL"
R=$(as_nobody /usr/bin/python3 "$GK_SOURCE_DIR/tests/integration/gkd-client.py" call \
	"$GKD_SOCK" '{"version":1,"request":"list"}' '{"version":1,"request":"status"}')
gk_check "unprivileged: list and status are answered" -- \
	test "$(echo "$R" | grep -c '"ok":true')" = 2
gk_expect_exit 0 "supplementary member of adm may change persistence" -- setpriv \
	--reuid=65534 --regid=65534 --groups="$ADM" "$GPUKEEP" pm "${S[@]}" -i 7 0
gkd_expect_held "GPU 7 released" "$ROOT" "$(gkd_all_gpus 7) nvidiactl"
gk_expect_exit 0 "primary-gid member of adm may change persistence" -- setpriv \
	--reuid=65534 --regid="$ADM" --clear-groups "$GPUKEEP" pm "${S[@]}" -i 7 1
gkd_expect_held "GPU 7 held" "$ROOT" "$ALL"
gkd_stop
gk_result $? "SIGTERM: exit 0"

# --- without --group, only root may change anything ---
gkd_start "$ROOT"
gk_expect_exit 3 "no --group: unprivileged pm refused" -- as_nobody "$GPUKEEP" pm "${S[@]}" 0
gk_check "... the message says root is needed" -- grep -q 'it needs root; uid 65534' \
	"$GK_TMP/last.err"
gkd_stop

gk_done
