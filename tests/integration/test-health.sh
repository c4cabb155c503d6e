#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep health without a scheduler: text, --json and the node-problem-detector contract
# (--npd: exit 0/1/2, one line of at most 80 characters, the shipped plugin config), on fixture
# nodes, a fixture kernel log, the NVML double and the real gpukeepd.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=gkd-lib.sh
. "$(dirname "$0")/gkd-lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root to mknod the fixture device nodes (make check runs as root in CI)"
	exit 77
fi
trap 'gkd_stop >/dev/null 2>&1; gk_cleanup' EXIT
FAKE="$GK_BUILD_DIR/tests/fakenvml/libfakenvml.so"
CONFIG="$GK_SOURCE_DIR/deploy/npd/gpukeep-health-monitor.json"
unset GPUKEEP_NVML GPUKEEP_NVML_TIMEOUT_MS
good=$(gk_fixture hgx-8gpu)
bad=$(gk_fixture link-x8)
BL="$GK_TMP/baseline.json"
KMSG="$GK_TMP/kmsg"
"$GPUKEEP" baseline save "$BL" --root "$good" >/dev/null
printf '6,1,10,-;Linux version 6.1\n6,2,20,-;nvidia: loading out-of-tree module\n' >"$KMSG"
# health ARGS...: gpukeep health on a fixture, with its state in $GK_TMP and no daemon
# shellcheck disable=SC2317 # called through gk_expect_exit
health()
{
	"$GPUKEEP" health --baseline "$BL" --kmsg "$KMSG" --state-dir "$GK_TMP/state" \
		--socket "$GK_TMP/no-daemon" "$@"
}
xid() { printf '4,%s,%s000,-;NVRM: Xid (PCI:%s): %s, pid=1, %s\n' "$1" "$1" "$2" "$3" "$4" >>"$KMSG"; }

gk_expect_exit 0 "health --help" -- "$GPUKEEP" health --help
gk_expect_exit 2 "an unknown check is a usage error" -- health --check baseline,disk
gk_check "... naming it" -- grep -q "unknown check 'disk'" "$GK_TMP/last.err"
gk_expect_exit 2 "--timeout 0 is a usage error" -- health --timeout 0
gk_expect_exit 2 "--node without --slurm is a usage error" -- health --node n1

gk_expect_exit 0 "a good node is healthy" -- health --root "$good"
gk_check "... says so" -- grep -q "^node healthy: 2 check(s) ok, 2 skipped" "$GK_TMP/last.out"
gk_check "... the daemon check is skipped, naming the socket" -- \
	grep -q "daemon .*skipped .*gpukeepd not running ($GK_TMP/no-daemon)" "$GK_TMP/last.out"
gk_expect_exit 0 "--json" -- health --root "$good" --json
gk_check "... schema, checks and statuses" -- python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["schema"] == "gpukeep.health" and j["version"] == 1 and j["healthy"] is True, j
assert [(c["check"], c["status"]) for c in j["checks"]] == [("baseline", "ok"), ("xid", "ok"),
	("nvml", "skipped"), ("daemon", "skipped")], j' "$GK_TMP/last.out"

gk_expect_exit 1 "a node that differs from its baseline has a problem" -- health --root "$bad"
gk_check "... named" -- grep -q "baseline .*problem .*0000:5d:00.0: PCIe link is x8, baseline x16" "$GK_TMP/last.out"

# Xids since the last check
xid 3 0000:07:00 79 "GPU has fallen off the bus."
gk_expect_exit 1 "a new Xid is a problem" -- health --root "$good" --check xid
gk_check "... named with its GPU" -- grep -q "xid .*problem .*Xid 79 on 0000:07:00$" "$GK_TMP/last.out"
gk_expect_exit 0 "the next check does not report it again" -- health --root "$good" --check xid
gk_check "... the position is kept per boot" -- \
	grep -qx "$(cat /proc/sys/kernel/random/boot_id) 3" "$GK_TMP/state/health-plain.kmsg"
xid 4 0000:08:00 48 "DBE"
xid 5 0000:09:00 13 "Graphics Exception"
gk_expect_exit 1 "two more Xids" -- health --root "$good" --check xid
gk_check "... the first is named, the others counted" -- \
	grep -q "Xid 48 on 0000:08:00 (and more Xids)" "$GK_TMP/last.out"
echo "0000-another-boot 5" >"$GK_TMP/state/health-plain.kmsg"
gk_expect_exit 1 "after a reboot every Xid of the new boot counts" -- health --root "$good" --check xid
gk_check "... from the first" -- grep -q "Xid 79 on 0000:07:00 (and more Xids)" "$GK_TMP/last.out"
gk_expect_exit 1 "--npd keeps its own position (sees them too)" -- health --root "$good" --check xid --npd
gk_expect_exit 3 "an unreadable kernel log: no problem, but unknown (exit 3)" -- \
	health --root "$good" --check xid --kmsg "$GK_TMP/nonexistent"
gk_check "... says what it could not read" -- grep -q "cannot read the kernel log $GK_TMP/nonexistent" "$GK_TMP/last.out"

# NVML: the double answering, hung, mismatched
export FAKENVML_STATE="$GK_TMP/nvml.json"
cp "$GK_SOURCE_DIR/tests/fakenvml/states/hgx-8gpu.json" "$FAKENVML_STATE"
gk_expect_exit 0 "NVML answering" -- health --root "$good" --check nvml --nvml "$FAKE"
gk_check "... with its GPUs" -- grep -q "nvml .*ok .*NVML answered in [0-9]* ms: 8 GPU(s)" "$GK_TMP/last.out"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); s["hang"]=["nvmlInit_v2"]; json.dump(s,open(sys.argv[1],"w"))' "$FAKENVML_STATE"
gk_expect_exit 1 "NVML hung" -- health --root "$good" --check nvml --nvml "$FAKE" --timeout 300
gk_check "... is a problem, with the deadline" -- grep -q "nvml .*problem .*NVML: .*300 ms" "$GK_TMP/last.out"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); del s["hang"]; s["init_error"]=18; json.dump(s,open(sys.argv[1],"w"))' "$FAKENVML_STATE"
gk_expect_exit 1 "NVML version mismatch" -- health --root "$good" --check nvml --nvml "$FAKE"
gk_expect_exit 0 "no NVML at all is skipped" -- health --root "$good" --check nvml --nvml "$GK_TMP/none.so"

# gpukeepd holding its GPUs
droot=$(gkd_root hgx-8gpu)
if gkd_start "$droot" --open-timeout 2; then
	gk_expect_exit 0 "gpukeepd holding every GPU" -- health --check daemon --socket "$GKD_SOCK"
	gk_check "... says how many" -- grep -q "daemon .*ok .*gpukeepd holds 8 GPU(s)" "$GK_TMP/last.out"
	gkc call "$GKD_SOCK" '{"version":1,"request":"release-all"}' >/dev/null
	gk_expect_exit 1 "gpukeepd released every GPU" -- health --check daemon --socket "$GKD_SOCK"
	gk_check "... is a problem" -- grep -q "gpukeepd released every GPU" "$GK_TMP/last.out"
	gkd_stop >/dev/null
else
	gk_result 1 "gpukeepd starts on a fixture root"
fi
# a wedged GPU: open() of /dev/nvidia2 blocks (a FIFO with no writer), the daemon says stuck
rm -f "$droot/dev/nvidia2"
mkfifo -m 0666 "$droot/dev/nvidia2"
if gkd_start "$droot" --open-timeout 0.5; then
	gkc wait "$GKD_SOCK" 'gpus[2]["state"] == "stuck"' 10 >/dev/null
	gk_expect_exit 1 "gpukeepd with a GPU stuck opening" -- \
		health --check daemon --socket "$GKD_SOCK"
	gk_check "... is a problem naming the GPU" -- \
		grep -q "daemon .*problem .*gpukeepd: GPU 0000:3a:00.0 stuck" "$GK_TMP/last.out"
	gkd_stop >/dev/null
else
	gk_result 1 "gpukeepd starts with a hanging open"
fi

# node-problem-detector: the shipped config, and each of its rules run as NPD would
gk_check "the NPD config is a custom plugin monitor NPD accepts" -- python3 - "$CONFIG" <<'EOF'
import json, re, sys
c = json.load(open(sys.argv[1]))
assert c["plugin"] == "custom" and c["source"], c
pc = c["pluginConfig"]
assert pc["max_output_length"] == 80, pc
secs = lambda s: int(re.fullmatch(r"(\d+)s", s).group(1))
conds = {d["type"] for d in c["conditions"]}
assert all(d["reason"] and d["message"] for d in c["conditions"])
checks = set()
for r in c["rules"]:
    assert r["type"] in ("temporary", "permanent"), r
    if r["type"] == "permanent":
        assert r["condition"] in conds, r
    assert secs(r["timeout"]) <= secs(pc["timeout"]), r
    assert r["path"].endswith("/gpukeep") and r["args"][:2] == ["health", "--npd"], r
    assert r["args"][2] == "--check", r
    checks.add(r["args"][3])
assert checks == {"baseline", "xid", "nvml", "daemon"}, checks
EOF
python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["rules"]:
    print(" ".join(r["args"][1:]))' "$CONFIG" >"$GK_TMP/rules"
# npd_contract DESC WANT ARGS...: exit WANT, exactly one line of at most 80 characters
npd_contract()
{
	local desc=$1 want=$2
	shift 2
	gk_expect_exit "$want" "$desc" -- health "$@"
	# shellcheck disable=SC2016 # an awk program
	gk_check "... one line of at most 80 characters" -- \
		awk 'END { exit !(NR == 1 && max <= 80) } { if (length($0) > max) max = length($0) }' "$GK_TMP/last.out"
}
while read -r -a args; do
	npd_contract "NPD rule '${args[*]}' on a good node" 0 --root "$good" --nvml none "${args[@]}"
done <"$GK_TMP/rules"
npd_contract "--npd on a degraded node: 1" 1 --root "$bad" --npd --check baseline
gk_check "... the problem in the line" -- grep -q "^baseline: 0000:5d:00.0: PCIe link is x8" "$GK_TMP/last.out"
xid 6 0000:07:00 79 "GPU has fallen off the bus."
npd_contract "--npd with a new Xid: 1" 1 --root "$good" --npd --check xid
npd_contract "--npd with no baseline: 2 (unknown)" 2 --root "$good" --npd --check baseline \
	--baseline "$GK_TMP/a-long-path-to-a-baseline-that-was-never-saved-on-this-node.json"
gk_check "... cut to 80 characters" -- grep -q '\.\.\.$' "$GK_TMP/last.out"
npd_contract "--npd usage error: 2 (unknown to NPD)" 2 --npd --check nope

gk_done
