#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# nvidia-persistenced's RPC socket, with the probe client built from nvpd.x: every procedure of
# both versions, as root and as an unprivileged uid (setpriv), the device found by domain, bus
# and slot (function ignored), an unknown device, invalid values, a set seen in /proc/<pid>/fd,
# a set answered only once its open finished (others served meanwhile) or failed, the retried
# open, records in several fragments, wrong program, version and procedure, truncated arguments,
# a bad credential, 1,000 concurrent clients, half-record, slow and never-reading clients while
# a normal one is served, a client that closes before its reply, and the caps.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/gkd-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/gkd-lib.sh"
# shellcheck source=tests/integration/nvpd-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/nvpd-lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	gk_result 0 "# SKIP the RPC tests run as root (setpriv for the unprivileged uid)"
	gk_done
fi
# 1,000 clients at once, each an fd here and in the daemon.
ulimit -n 8192 2>/dev/null || ulimit -n 4096
# GK_RPC_VALGRIND=1 (test-gpukeepd-rpc-valgrind.sh): the same session with the daemon under
# valgrind; each SIGTERM must then also find no leak and no memory error.
if [ "${GK_RPC_VALGRIND:-0}" = 1 ]; then
	if ! command -v valgrind >/dev/null; then
		gk_result 1 "valgrind is not installed (apt-get install valgrind)"
		gk_done
	fi
	if grep -qa __asan_init "$GPUKEEPD"; then
		gk_result 0 "# SKIP valgrind cannot run a sanitizer build; the sanitizers check this one"
		gk_done
	fi
	KINDS=definite,indirect,possible
	printf '#!/bin/sh\nexec valgrind --quiet --leak-check=full --show-leak-kinds=%s --errors-for-leak-kinds=%s --error-exitcode=99 --log-file=%s %s "$@"\n' \
		"$KINDS" "$KINDS" "$GK_TMP/valgrind.log" "$GPUKEEPD" >"$GK_TMP/vg-gpukeepd"
	chmod +x "$GK_TMP/vg-gpukeepd"
	GPUKEEPD=$GK_TMP/vg-gpukeepd
fi
# gkd_stop_checked DESCRIPTION: SIGTERM; exit 0 (under valgrind: and a clean report).
gkd_stop_checked()
{
	gkd_stop
	local rc=$?
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$GK_TMP/valgrind.log" 2>/dev/null
	gk_result "$rc" "$1"
}

ROOT=$(gkd_root hgx-8gpu)
ALL="$(gkd_all_gpus 8) nvidiactl"
G0=0000:18:00.0 # GPU 0, minor 0
G1=0000:2a:00.0
G2=0000:3a:00.0
mv "$ROOT/dev/nvidia3" "$GK_TMP/nvidia3.away"
G3=0000:5d:00.0
gkd_start "$ROOT" --nvpd-socket "$NVPD_SOCK" --client-timeout 1 --open-timeout 2 \
	--max-clients 1100
gk_result $? "daemon starts with --nvpd-socket"
gkd_expect_held "holds what exists" "$ROOT" "$(gkd_all_gpus 8 | sed 's/ nvidia3//') nvidiactl"
gk_check "RPC socket mode 666 in a 0755 directory" -- \
	test "$(stat -c %a "$NVPD_SOCK"):$(stat -c %a "$GK_TMP/nvpd")" = "666:755"

# --- every procedure, as root ---
np_expect "v1 NULL" "ok" null 1
np_expect "v2 NULL" "ok" null 2
np_expect "get: enabled" "status 0 mode 1" get $G0
np_expect "get: the function number is ignored" "status 0 mode 1" get 0000:18:00.5
np_expect "get: a GPU whose open failed reads disabled" "status 0 mode 0" get $G3
np_expect "get: unknown device is DEVICE_NOT_FOUND" "status 2" get 0000:99:00.0
np_expect "v1 set disabled" "status 0" set 1 $G0 0
gkd_expect_held "... and nvidia0 is really closed" "$ROOT" \
	"$(gkd_all_gpus 8 | sed 's/ nvidia0//; s/ nvidia3//') nvidiactl"
np_expect "... get reads disabled" "status 0 mode 0" get $G0
gk_check "... remembered in the state file as gpukeep pm does" -- python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if "0000:18:00.0" in json.dumps(d) and "false" in json.dumps(d) else 1)' \
	"$GK_TMP/state/persistence.json"
np_expect "v1 set disabled again: a no-op" "status 0" set 1 $G0 0
np_expect "v1 set enabled (function 7 ignored)" "status 0" set 1 0000:18:00.7 1
gkd_expect_held "... nvidia0 reopened" "$ROOT" \
	"$(gkd_all_gpus 8 | sed 's/ nvidia3//') nvidiactl"
np_expect "v2 set-mode-only disabled" "status 0" set 2 $G1 0
gkd_expect_held "... nvidia1 closed" "$ROOT" \
	"$(gkd_all_gpus 8 | sed 's/ nvidia1//; s/ nvidia3//') nvidiactl"
np_expect "v2 set-mode-only enabled" "status 0" set 2 $G1 1
np_expect "v1 set: invalid mode is INVALID_ARGUMENT" "status 5" set 1 $G0 7
np_expect "v2 set: invalid mode is INVALID_ARGUMENT" "status 5" set 2 $G0 -1
np_expect "v1 set: unknown device is DEVICE_NOT_FOUND" "status 2" set 1 0000:99:00.0 1
np_expect "v2 NUMA online: no coherent memory, success" "status 0" numa $G0 1
np_expect "v2 NUMA offline: success" "status 0" numa $G0 0
np_expect "v2 NUMA: invalid status" "status 5" numa $G0 2
np_expect "v2 NUMA: unknown device" "status 2" numa 0000:99:00.0 1
np_expect "set enabled on a GPU whose open fails: DRIVER" "status 3" set 1 $G3 1
mv "$GK_TMP/nvidia3.away" "$ROOT/dev/nvidia3"
np_expect "set enabled retries the open at once: held" "status 0" set 1 $G3 1
gkd_expect_held "... nvidia3 held" "$ROOT" "$ALL"
np_expect "root with an AUTH_SYS credential: set off" "status 0" --auth-sys-root set 1 $G0 0
np_expect "... and on (answered once open)" "status 0" --auth-sys-root set 1 $G0 1

# --- as uid 65534: reads only; the permission check comes first ---
np_expect "nobody: get" "status 0 mode 1" --as-nobody get $G0
np_expect "nobody: NULL" "ok" --as-nobody null 2
np_expect "nobody: v1 set is PERMISSIONS" "status 7" --as-nobody set 1 $G0 0
np_expect "nobody: v2 set is PERMISSIONS" "status 7" --as-nobody set 2 $G0 0
np_expect "nobody: v2 NUMA is PERMISSIONS" "status 7" --as-nobody numa $G0 0
np_expect "nobody: permission before the device lookup" "status 7" --as-nobody set 1 0000:99:00.0 0
np_expect "nobody: permission before the value check" "status 7" --as-nobody set 1 $G0 9
np_expect "nobody: an AUTH_SYS credential claiming uid 0 changes nothing" "status 7" \
	--as-nobody --auth-sys-root set 1 $G0 0
gkd_expect_held "... nothing was released" "$ROOT" "$ALL"

# --- wire: fragments, wrong numbers, truncated arguments, a bad credential ---
np_expect "a call in 3 fragments, 100 ms apart" "reply 0 accept 0 status 0 mode 1" raw fragments $G0
np_expect "wrong program: PROG_UNAVAIL" "reply 0 accept 1" raw badprog $G0
np_expect "wrong version: PROG_MISMATCH" "reply 0 accept 2" raw badvers $G0
np_expect "wrong procedure: PROC_UNAVAIL" "reply 0 accept 3" raw badproc $G0
np_expect "truncated arguments: GARBAGE_ARGS" "reply 0 accept 4" raw truncated $G0
np_expect "an undecodable credential: MSG_DENIED" "reply 1" raw badcred $G0

# --- the reply waits for the open; everyone else is served meanwhile ---
np_expect "GPU 2 off" "status 0" set 1 $G2 0
rm "$ROOT/dev/nvidia2"
mkfifo -m 0666 "$ROOT/dev/nvidia2" # its open() blocks until a writer comes
np set 1 $G2 1 >"$GK_TMP/set.out" 2>&1 &
SETPID=$!
sleep 0.5
gk_check "a set whose open is in flight has no answer yet" -- kill -0 "$SETPID"
np_expect "... while another client is served" "status 0 mode 1" get $G0
np_expect "... and GPU 2 reads disabled (not yet in effect)" "status 0 mode 0" get $G2
exec 3<>"$ROOT/dev/nvidia2" # a writer: the daemon's open returns
wait "$SETPID"
gk_check "... answered success once the file is open" -- grep -qx "status 0" "$GK_TMP/set.out"
exec 3>&-
np_expect "GPU 2 off again" "status 0" set 1 $G2 0
T0=$(date +%s%N)
np_expect "an open that passes its deadline (2 s): DRIVER" "status 3" set 1 $G2 1
T1=$(date +%s%N)
gk_check "... answered after the open deadline, not before" -- test $(((T1 - T0) / 1000000)) -ge 1500
# Let the stuck open return (a writer), so that no worker is left blocked at exit.
exec 3<>"$ROOT/dev/nvidia2"
gk_check "... and held once the stuck open returns" -- \
	gkc wait "$GKD_SOCK" 'gpus[2]["state"] == "held"' 5
exec 3>&-
np_expect "GPU 2 off, to put a plain file back" "status 0" set 1 $G2 0
rm "$ROOT/dev/nvidia2" && : >"$ROOT/dev/nvidia2" && chmod 0666 "$ROOT/dev/nvidia2"
np_expect "... and on" "status 0" set 1 $G2 1

# --- many, hostile and rude clients ---
np_expect "1,000 concurrent clients" "ok 1000 failed 0" concurrent 1000 $G0
gk_check "a half-record client stalls nobody" -- np stall half $G0
gk_check "a one-byte-every-200-ms client stalls nobody" -- np stall slow $G0
gk_check "a client that never reads its replies stalls nobody" -- np stall noread $G0
gk_check "half a record is dropped after --client-timeout" -- python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"\x80\x00\x00\x40abc")
s.settimeout(5); t = time.time(); b = s.recv(10)
sys.exit(0 if b == b"" and 0.5 < time.time() - t < 4 else 1)' "$NVPD_SOCK"
gk_check "a record over the cap (64 KiB header) is refused at once" -- python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"\x80\x01\x00\x00")
s.settimeout(5); sys.exit(0 if s.recv(10) == b"" else 1)' "$NVPD_SOCK"
gk_check "a client closing before its set's reply" -- np hangup $G1 0
sleep 0.3
np_expect "... the daemon lives and the set took effect" "status 0 mode 0" get $G1
for _ in $(seq 20); do np hangup $G1 1 >/dev/null; done
np_expect "... 20 more of them" "status 0 mode 1" get $G1
gk_expect_exit 0 "the JSON socket still answers" -- "$GPUKEEP" status --socket "$GKD_SOCK"

# --- libgk's per-GPU release and re-acquire, as the reload uses them ---
ADDRS=$(gkc call "$GKD_SOCK" '{"version":1,"request":"list"}' | python3 -c \
	'import json, sys; print(" ".join(g["pci"] for g in json.load(sys.stdin)["gpus"]))')
# shellcheck disable=SC2086 # one address per word
np_expect "nvpd_set_gpus off: every GPU released" "rc 0 0 0 0 0 0 0 0 0" setall 0 $ADDRS
gkd_expect_held "... nothing held" "$ROOT" ""
# shellcheck disable=SC2086
np_expect "nvpd_set_gpus on: every GPU held again" "rc 0 0 0 0 0 0 0 0 0" setall 1 $ADDRS
gkd_expect_held "... all held" "$ROOT" "$ALL"
np_expect "nvpd_set_gpus: an unknown GPU is -ENODEV, the others done" "rc -19 0 -19" setall 1 \
	$G0 0000:99:00.0

# --- gpukeep status and pm through the RPC socket, when gpukeepd's own socket is not there ---
NV=(env "GPUKEEP_NVPD_SOCKET=$NVPD_SOCK" "GPUKEEP_ROOT=$ROOT")
NONE=(--socket "$GK_TMP/none/socket")
NAME=$(cat "/proc/$GKD_PID/comm") # gpukeepd (valgrind's name under valgrind)
gk_expect_exit 0 "gpukeep status through the RPC socket" -- "${NV[@]}" "$GPUKEEP" status "${NONE[@]}"
gk_check "... names the daemon that answered" -- grep -q "^$NAME (pid $GKD_PID) answered on $NVPD_SOCK" \
	"$GK_TMP/last.out"
gk_check "... and every GPU's mode" -- test "$(grep -cE '^  [0-9] +0000:.* on$' "$GK_TMP/last.out")" = 8
gk_expect_exit 0 "gpukeep status --json through the RPC socket" -- "${NV[@]}" "$GPUKEEP" status \
	"${NONE[@]}" --json
gkd_json_check "... daemon and modes" "$(cat "$GK_TMP/last.out")" \
	'r["daemon"]["name"] == "'"$NAME"'" and r["daemon"]["protocol"] == "nvidia-persistenced RPC" and len(r["gpus"]) == 8 and r["gpus"][1]["persistence"] is True'
gk_expect_exit 0 "gpukeep pm -i 1 0 through the RPC socket" -- "${NV[@]}" "$GPUKEEP" pm "${NONE[@]}" -i 1 0
gk_check "... says who did it" -- grep -q "^Disabled persistence mode for GPU $G1 ($NAME, pid $GKD_PID)" \
	"$GK_TMP/last.out"
gkd_expect_held "... nvidia1 closed" "$ROOT" "$(gkd_all_gpus 8 | sed 's/ nvidia1//') nvidiactl"
gk_expect_exit 3 "gpukeep pm as nobody through the RPC socket: permission denied" -- \
	setpriv --reuid=65534 --regid=65534 --clear-groups "${NV[@]}" "$GPUKEEP" pm "${NONE[@]}" -i 1 1
gk_expect_exit 2 "gpukeep pm -i 9: no such GPU" -- "${NV[@]}" "$GPUKEEP" pm "${NONE[@]}" -i 9 1
gk_expect_exit 0 "gpukeep pm -i $G1 1 through the RPC socket" -- "${NV[@]}" "$GPUKEEP" pm "${NONE[@]}" \
	-i "$G1" 1
gkd_expect_held "... nvidia1 held again" "$ROOT" "$ALL"
gkd_stop_checked "SIGTERM: exit 0"
gk_check "RPC socket removed" -- test ! -e "$NVPD_SOCK"

# --- the daemon's --group may change things over RPC too ---
gkd_start "$ROOT" --nvpd-socket "$NVPD_SOCK" --group nogroup --max-clients-per-uid 4
np_expect "a member of --group (primary gid) may set" "status 0" --as-nobody set 1 $G0 0
np_expect "... and set back" "status 0" --as-nobody set 1 $G0 1
# conns N: opens N connections at once, a NULL call on each; prints how many were answered.
CONNS='
import socket, struct, sys
call = struct.pack(">IIIIIIIIII", 7, 0, 2, 35006, 1, 0, 0, 0, 0, 0)
rec = struct.pack(">I", len(call) | 0x80000000) + call
socks, n = [], 0
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(3); socks.append(s)
for s in socks:
    try:
        s.sendall(rec); n += len(s.recv(100)) > 0
    except OSError:
        pass
print(n)'
gk_check "a non-root uid gets at most --max-clients-per-uid (4) connections" -- test \
	"$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c "$CONNS" "$NVPD_SOCK" 6)" = 4
gk_check "... root is exempt" -- test "$(python3 -c "$CONNS" "$NVPD_SOCK" 6)" = 6
gkd_stop_checked "SIGTERM: exit 0"
gk_done
