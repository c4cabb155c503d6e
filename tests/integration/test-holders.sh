#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep holders on a fixture root whose dev/ holds plain files and whose proc is the real /proc:
# real child processes hold the files by fd, by mapping only, or both, and the scan must name
# exactly them, with the right flags, while other processes come and go.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$GK_TMP/root
DEV=$ROOT/dev
NODES="nvidia0 nvidia1 nvidia2 nvidia3 nvidiactl nvidia-uvm nvidia-caps/nvidia-cap1"

mkdir -p "$DEV/nvidia-caps"
for n in $NODES; do
	: >"$DEV/$n"
done
ln -s /proc "$ROOT/proc"
: >"$GK_TMP/unrelated"

# The mmap helper: built by meson next to the other test helpers, else built here.
MMAP_HOLD=${GK_MMAP_HOLD:-$GK_BUILD_DIR/tests/helpers/mmap-hold}
if [ ! -x "$MMAP_HOLD" ]; then
	MMAP_HOLD=$GK_TMP/mmap-hold
	"${CC:-cc}" -O1 -o "$MMAP_HOLD" "$GK_SOURCE_DIR/tests/helpers/mmap-hold.c"
fi
gk_check "mmap-hold helper is available" -- test -x "$MMAP_HOLD"

# shellcheck disable=SC2317 # called through gk_check
# wait_ready FILE: the helper writes "ready" once its mappings are in place (at most 10 s).
wait_ready()
{
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q ready "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

holders_json()
{
	"$GPUKEEP" holders --root "$ROOT" --json
}

# check_json FILE EXPECTATIONS: runs a Python check of the JSON in FILE (see below).
check_json()
{
	python3 - "$@" <<'EOF'
import json, sys

doc = json.load(open(sys.argv[1]))
want = json.loads(sys.argv[2])
errors = []
if doc.get("schema") != "gpukeep.holders" or doc.get("version") != 1:
    errors.append("schema/version: %r %r" % (doc.get("schema"), doc.get("version")))
if not isinstance(doc.get("inaccessible"), int):
    errors.append("inaccessible is not an int")
holders = doc["holders"]
pids = [h["pid"] for h in holders]
if pids != sorted(pids):
    errors.append("holders not sorted by pid: %r" % pids)
keys = {"pid", "comm", "cmdline", "uid", "user", "state", "unkillable", "cgroup", "unit",
        "container", "devices", "fabric_manager"}
for h in holders:
    if set(h) != keys:
        errors.append("pid %d keys %r" % (h["pid"], sorted(h)))
    paths = [d["path"] for d in h["devices"]]
    if paths != sorted(paths):
        errors.append("pid %d devices not sorted: %r" % (h["pid"], paths))
got = {str(h["pid"]): h for h in holders}
if want.get("exact", True) and set(got) != set(want["holders"]):
    errors.append("pids %r, expected %r" % (sorted(got), sorted(want["holders"])))
for pid, exp in want["holders"].items():
    h = got.get(pid)
    if h is None:
        errors.append("pid %s missing" % pid)
        continue
    devs = {d["path"]: ("fd" if d["fd"] else "") + ("+" if d["fd"] and d["mmap"] else "")
            + ("mmap" if d["mmap"] else "") for d in h["devices"]}
    if devs != exp["devices"]:
        errors.append("pid %s devices %r, expected %r" % (pid, devs, exp["devices"]))
    for k in ("comm", "state", "unkillable", "uid"):
        if k in exp and h[k] != exp[k]:
            errors.append("pid %s %s %r, expected %r" % (pid, k, h[k], exp[k]))
    if not h["cmdline"].startswith(exp.get("cmdline", "")):
        errors.append("pid %s cmdline %r" % (pid, h["cmdline"]))
for path in want.get("absent_paths", []):
    for h in holders:
        if any(d["path"] == path for d in h["devices"]):
            errors.append("%s held by pid %d" % (path, h["pid"]))
for e in errors:
    print("# " + e)
sys.exit(1 if errors else 0)
EOF
}

# --- nobody holds anything yet
gk_expect_exit 0 "scan with no holders" -- holders_json
cp "$GK_TMP/last.out" "$GK_TMP/empty.json"
gk_check "no holders in JSON" -- check_json "$GK_TMP/empty.json" '{"holders": {}}'
gk_expect_exit 0 "text scan with no holders" -- "$GPUKEEP" holders --root "$ROOT"
gk_check "text says nobody holds a node" -- \
	grep -q "no process holds an NVIDIA device file (7 nodes" \
	"$GK_TMP/last.out"

# --- holders: by fd, by mapping only, by both; and a process holding an unrelated file
sleep 300 3<"$DEV/nvidia0" 4<"$DEV/nvidiactl" &
FD_PID=$!
"$MMAP_HOLD" "$DEV/nvidia1" "$DEV/nvidia-caps/nvidia-cap1" >"$GK_TMP/mmap.ready" &
MMAP_PID=$!
# shellcheck disable=SC2094 # it reads one file and writes another
"$MMAP_HOLD" "$DEV/nvidia-uvm" >"$GK_TMP/both.ready" 5<"$DEV/nvidia-uvm" &
BOTH_PID=$!
sleep 300 3<"$GK_TMP/unrelated" &
OTHER_PID=$!
gk_check "mmap holders are ready" -- wait_ready "$GK_TMP/mmap.ready"
gk_check "fd+mmap holder is ready" -- wait_ready "$GK_TMP/both.ready"

UID_NOW=$(id -u)
EXPECT=$(
	cat <<EOF
{"holders": {
 "$FD_PID": {"comm": "sleep", "cmdline": "sleep 300", "state": "S", "unkillable": false,
	"uid": $UID_NOW,
	"devices": {"/dev/nvidia0": "fd", "/dev/nvidiactl": "fd"}},
 "$MMAP_PID": {"comm": "mmap-hold", "state": "S", "unkillable": false, "uid": $UID_NOW,
	"devices": {"/dev/nvidia-caps/nvidia-cap1": "mmap", "/dev/nvidia1": "mmap"}},
 "$BOTH_PID": {"comm": "mmap-hold", "state": "S", "uid": $UID_NOW,
	"devices": {"/dev/nvidia-uvm": "fd+mmap"}}}}
EOF
)
gk_expect_exit 0 "scan with holders" -- holders_json
cp "$GK_TMP/last.out" "$GK_TMP/holders.json"
gk_check "exactly the fd, mmap and fd+mmap holders, with their devices" -- \
	check_json "$GK_TMP/holders.json" "$EXPECT"
gk_check "the unrelated process is not listed" -- \
	python3 -c "import json, sys
sys.exit($OTHER_PID in [h['pid'] for h in json.load(open('$GK_TMP/holders.json'))['holders']])"

gk_expect_exit 0 "text scan with holders" -- "$GPUKEEP" holders --root "$ROOT"
cp "$GK_TMP/last.out" "$GK_TMP/holders.txt"
gk_check "text has the table header" -- \
	grep -Eq '^ *PID +USER +STATE +UNIT/CONTAINER +COMMAND +DEVICES$' "$GK_TMP/holders.txt"
gk_check "text names the fd holder" -- \
	grep -Eq "^ *$FD_PID .* sleep 300 +nvidia0\(fd\) nvidiactl\(fd\)$" "$GK_TMP/holders.txt"
gk_check "text names the mmap holder" -- grep -Eq \
	"^ *$MMAP_PID .* nvidia-caps/nvidia-cap1\(mmap\) nvidia1\(mmap\)$" "$GK_TMP/holders.txt"
gk_check "text names the fd+mmap holder" -- \
	grep -Eq "^ *$BOTH_PID .* nvidia-uvm\(fd\+mmap\)$" "$GK_TMP/holders.txt"
gk_check "text says what to stop" -- grep -q "^stop these before unloading the driver: \
.*pid $FD_PID (sleep); pid $MMAP_PID (mmap-hold)" \
	"$GK_TMP/holders.txt"
gk_check "text does not list the unrelated process" -- \
	bash -c "! grep -q '^ *$OTHER_PID ' '$GK_TMP/holders.txt'"

# --- gpukeep leaves itself out, even when it holds a node (exec: no shell in between holds it)
# shellcheck disable=SC2016 # expanded by the inner shell
gk_expect_exit 0 "scan while gpukeep itself holds nvidia2" -- bash -c \
	'exec "$0" holders --root "$1" --json 6<"$2"' "$GPUKEEP" "$ROOT" "$DEV/nvidia2"
gk_check "gpukeep is not among the holders" -- \
	check_json "$GK_TMP/last.out" \
	'{"exact": false, "holders": {}, "absent_paths": ["/dev/nvidia2"]}'

# --- processes that come and go during the scan
churn()
{
	local end=$((SECONDS + 4)) pids i
	while [ "$SECONDS" -lt "$end" ]; do
		pids=()
		for ((i = 0; i < 20; i++)); do
			sleep 0.0$((RANDOM % 5)) 3<"$DEV/nvidia3" &
			pids+=($!)
		done
		kill "${pids[@]:0:10}" 2>/dev/null
		wait "${pids[@]}" 2>/dev/null
	done
}
EXPECT_LOOSE=$(python3 -c 'import json, sys
d = json.loads(sys.argv[1]); d["exact"] = False; print(json.dumps(d))' "$EXPECT")
churn &
CHURN_PID=$!
churn_ok=0
for ((run = 0; run < 8; run++)); do
	holders_json >"$GK_TMP/churn.json" 2>>"$GK_TMP/churn.err" || churn_ok=1
	check_json "$GK_TMP/churn.json" "$EXPECT_LOOSE" || churn_ok=1
	"$GPUKEEP" holders --root "$ROOT" >/dev/null 2>>"$GK_TMP/churn.err" || churn_ok=1
done
wait "$CHURN_PID"
gk_result "$churn_ok" "16 scans while processes holding nvidia3 start and die:" \
	"all succeed and find the steady holders"
# only the note about processes that even root may not inspect (other namespaces) is allowed
gk_check "no errors on stderr during the churn" -- \
	bash -c "! grep -v 'could not be inspected' '$GK_TMP/churn.err' | sed 's/^/# /' | grep ."

# --- many holders: enough processes for the scan to share them out to threads (on >= 2 CPUs)
MANY=()
for ((i = 0; i < 400; i++)); do
	sleep 300 3<"$DEV/nvidia2" &
	MANY+=($!)
done
# each child opens the file after the fork: wait until all of them hold it
for pid in "${MANY[@]}"; do
	for ((t = 0; t < 200; t++)); do
		[ "$(readlink "/proc/$pid/fd/3" 2>/dev/null)" = "$DEV/nvidia2" ] && break
		sleep 0.01
	done
done
gk_expect_exit 0 "scan with 400 more holders" -- holders_json
gk_check "all 400 are found, each holding nvidia2 by fd" -- python3 -c "
import json, sys
d = json.load(open('$GK_TMP/last.out'))
want = set(int(p) for p in sys.argv[1:])
got = {h['pid']: h for h in d['holders'] if h['pid'] in want}
ok = set(got) == want and all([(x['path'], x['fd'], x['mmap']) for x in h['devices']]
                              == [('/dev/nvidia2', True, False)] for h in got.values())
sys.exit(not ok)" "${MANY[@]}"
kill "${MANY[@]}"
wait "${MANY[@]}" 2>/dev/null

# --- a process in state D is flagged unkillable
"$MMAP_HOLD" -D "$DEV/nvidia3" >"$GK_TMP/d.ready" &
D_PID=$!
gk_check "D-state holder is ready" -- wait_ready "$GK_TMP/d.ready"
sleep 0.2
D_CHILD=$(cat "/proc/$D_PID/task/$D_PID/children" 2>/dev/null)
gk_expect_exit 0 "scan with a process in state D" -- holders_json
gk_check "the vfork parent is in state D and unkillable" -- check_json "$GK_TMP/last.out" \
	"{\"exact\": false, \"holders\": {\"$D_PID\": {\"state\": \"D\", \"unkillable\": true,
	\"devices\": {\"/dev/nvidia3\": \"mmap\"}}}}"
gk_expect_exit 0 "text scan with a process in state D" -- "$GPUKEEP" holders --root "$ROOT"
gk_check "text flags it unkillable" -- \
	grep -q "pid $D_PID (mmap-hold, unkillable)" "$GK_TMP/last.out"
# the child shares the parent's mappings; end it first so that the parent leaves D
[ -n "$D_CHILD" ] && kill "$D_CHILD"
kill "$D_PID"
wait "$D_PID" 2>/dev/null

# --- other users: what cannot be inspected is counted, not fatal
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 711 "$GK_TMP"
	gk_expect_exit 0 "scan as an unprivileged user" -- setpriv --reuid=65534 --regid=65534 \
		--clear-groups "$GPUKEEP" holders --root "$ROOT" --json
	gk_check "root's processes are counted as inaccessible" -- python3 -c "
import json, sys
d = json.load(open('$GK_TMP/last.out'))
sys.exit(not (d['inaccessible'] >= 3 and d['holders'] == []))"
	gk_check "the note says to run as root" -- \
		grep -q "could not be inspected; run as root" "$GK_TMP/last.err"
	chmod 700 "$GK_TMP"
else
	echo "ok $((gk_n + 1)) - unprivileged scan # SKIP needs root and setpriv to switch users"
	gk_n=$((gk_n + 1))
fi

# --- the fabric manager: whatever holds an NVSwitch device file is named as such
: >"$DEV/nvidia-nvswitch0"
: >"$DEV/nvidia-nvswitchctl"
sleep 300 3<"$DEV/nvidia-nvswitchctl" 4<"$DEV/nvidia-nvswitch0" &
FM_PID=$!
gk_expect_exit 0 "scan with a fabric manager" -- holders_json
gk_check "the NVSwitch holder is the fabric manager, the others are not" -- python3 -c "import json, sys
hs = {h['pid']: h['fabric_manager'] for h in json.load(open('$GK_TMP/last.out'))['holders']}
sys.exit(not (hs.get($FM_PID) is True and hs.get($FD_PID) is False))"
gk_expect_exit 0 "text scan with a fabric manager" -- "$GPUKEEP" holders --root "$ROOT"
gk_check "text names the fabric manager and when to stop it" -- \
	grep -q "pid $FM_PID (sleep) is the fabric manager: stop it last" "$GK_TMP/last.out"
kill "$FM_PID" 2>/dev/null
rm -f "$DEV/nvidia-nvswitch0" "$DEV/nvidia-nvswitchctl"

# --- failures and usage
gk_expect_exit 1 "--root /nonexistent fails" -- "$GPUKEEP" holders --root /nonexistent
gk_check "the message names the root" -- grep -q "/nonexistent: No such file or directory" \
	"$GK_TMP/last.err"
mkdir -p "$GK_TMP/noproc/dev"
: >"$GK_TMP/noproc/dev/nvidia0"
gk_expect_exit 1 "a root without proc fails" -- "$GPUKEEP" holders --root "$GK_TMP/noproc"
gk_check "the message names the proc path" -- grep -q "$GK_TMP/noproc/proc" "$GK_TMP/last.err"
mkdir -p "$GK_TMP/nonodes"
ln -s /proc "$GK_TMP/nonodes/proc"
gk_expect_exit 0 "a root without device nodes" -- "$GPUKEEP" holders --root "$GK_TMP/nonodes"
gk_check "text says there are no nodes" -- grep -q "no NVIDIA device nodes under" "$GK_TMP/last.out"
gk_expect_exit 2 "unknown option" -- "$GPUKEEP" holders --bogus
gk_expect_exit 2 "unexpected argument" -- "$GPUKEEP" holders extra
gk_expect_exit 0 "--help" -- "$GPUKEEP" holders --help
gk_check "help names the options" -- grep -q -- "--root DIR" "$GK_TMP/last.out"

kill "$FD_PID" "$MMAP_PID" "$BOTH_PID" "$OTHER_PID" 2>/dev/null
gk_done
