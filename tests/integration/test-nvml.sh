#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real gpukeep with the NVML test double (GPUKEEP_NVML=libfakenvml.so): inventory fields and
# NVLink topology, a hung call caught within its deadline, a lost GPU, a library/driver version
# mismatch, settings save/restore with a failing setter, and NVLink validation against a baseline.
# The node itself is the host's / (no GPUs needed): only NVML's part comes from the double.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

FAKE="$GK_BUILD_DIR/tests/fakenvml/libfakenvml.so"
STATES="$GK_SOURCE_DIR/tests/fakenvml/states"
export FAKENVML_STATE="$GK_TMP/state.json"
unset GPUKEEP_NVML GPUKEEP_NVML_TIMEOUT_MS

# state NAME [PYTHON]: copies state NAME to $FAKENVML_STATE, then runs PYTHON on it as `s`.
state()
{
	python3 - "$STATES/$1.json" "$FAKENVML_STATE" "${2:-pass}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
g = s["gpus"]
exec(sys.argv[3])
json.dump(s, open(sys.argv[2], "w"), indent=1)
PY
}

# pycheck DESCRIPTION FILE PYTHON: PYTHON asserts on `j`, the JSON in FILE.
pycheck()
{
	gk_check "$1" -- python3 -c "import json, sys
j = json.load(open(sys.argv[1]))
$3" "$2"
}

# --- inventory -----------------------------------------------------------------------------------
state hgx-8gpu
gk_expect_exit 0 "inventory --nvml --json" -- "$GPUKEEP" inventory --nvml "$FAKE" --json
pycheck "the nvml object has the driver and 8 GPUs in sysfs spelling" "$GK_TMP/last.out" '
n = j["nvml"]
assert n["available"] and n["error"] is None and n["driver_version"] == "535.261.03", n
assert [x["pci"] for x in n["gpus"]][:2] == ["0000:18:00.0", "0000:2a:00.0"], n["gpus"]'
pycheck "per-GPU settings and error state" "$GK_TMP/last.out" '
g = j["nvml"]["gpus"][0]
want = {"persistence_mode": True, "compute_mode": "default", "power_limit_mw": 700000,
        "power_limit_default_mw": 700000, "power_limit_min_mw": 200000, "power_limit_max_mw": 700000,
        "applications_clock_graphics_mhz": 1755, "applications_clock_memory_mhz": 2619,
        "accounting_mode": False, "ecc_mode_current": True, "ecc_mode_pending": True,
        "retired_pages_pending": False, "remapped_rows_pending": False}
assert {k: g[k] for k in want} == want, g
assert g["errors"] == {}, g["errors"]'
pycheck "NVLink topology: 64 links, 2 from each GPU to each NVSwitch" "$GK_TMP/last.out" '
t = j["nvml"]["topology"]
assert len(t) == 64 and all(e["remote_type"] == "nvswitch" for e in t), t[:3]
pairs = {(e["gpu"], e["remote"]) for e in t}
assert len(pairs) == 32 and ("0000:db:00.0", "0000:08:00.0") in pairs, pairs'
gk_expect_exit 0 "inventory text with GPUKEEP_NVML" -- env GPUKEEP_NVML="$FAKE" "$GPUKEEP" inventory
gk_check "... has the NVML section" -- grep -q "^NVML: driver 535.261.03, 8 GPU(s)$" "$GK_TMP/last.out"
gk_check "... and the topology summary" -- \
	grep -q "^NVLink: 64 active link(s): 0 GPU-GPU, 64 GPU-NVSwitch or other$" "$GK_TMP/last.out"
gk_check "... per GPU" -- grep -q "^  0000:18:00.0: 8 link(s), 8 active: 0000:05:00.0 x2 (nvswitch), 0000:06:00.0 x2" "$GK_TMP/last.out"

state nvlink-pair
"$GPUKEEP" inventory --nvml "$FAKE" >"$GK_TMP/pair.txt"
gk_check "GPU-GPU bridge: both ends named" -- \
	grep -q "^  0000:3b:00.0: 4 link(s), 4 active: 0000:af:00.0 x4 (gpu)$" "$GK_TMP/pair.txt"
gk_check "a GPU without NVLink says so" -- grep -q "^  0000:d8:00.0: no NVLink$" "$GK_TMP/pair.txt"
gk_check "pending retirement shown" -- grep -q "^  2 .*PENDING" "$GK_TMP/pair.txt"
"$GPUKEEP" inventory --nvml="$FAKE" --json >"$GK_TMP/pair.json"
pycheck "unsupported values are null with the reason" "$GK_TMP/pair.json" '
g = j["nvml"]["gpus"][2]
assert g["accounting_mode"] is None and g["errors"]["accounting_mode"] == "not supported", g
assert g["nvlinks"] == [] and g["errors"]["nvlinks"] == "not supported", g
assert j["nvml"]["gpus"][0]["compute_mode"] == "exclusive_process"'

# --- without NVML --------------------------------------------------------------------------------
gk_expect_exit 0 "--nvml none" -- "$GPUKEEP" inventory --nvml none
gk_check "... says what was not checked" -- grep -q "^NVML: not available: NVML disabled" "$GK_TMP/last.out"
gk_check "... and lists it" -- grep -q "not checked: persistence mode, compute mode" "$GK_TMP/last.out"
gk_expect_exit 0 "a missing library" -- "$GPUKEEP" inventory --nvml "$GK_TMP/none.so" --json
pycheck "... is named in the JSON" "$GK_TMP/last.out" '
n = j["nvml"]
assert n["available"] is False and n["error"].startswith("cannot load '"$GK_TMP"'/none.so"), n'
gk_expect_exit 2 "--nvml without a path" -- "$GPUKEEP" inventory --nvml
gk_expect_exit 0 "no --nvml on the real node (root /)" -- "$GPUKEEP" inventory --root / --json
gk_check "... the default library is looked for on the real node" -- python3 -c '
import json, sys
n = json.load(open(sys.argv[1]))["nvml"]
assert n["available"] or "libnvidia-ml.so.1" in n["error"], n' "$GK_TMP/last.out"

# --- faults --------------------------------------------------------------------------------------
state hgx-8gpu 'g[1]["hang"] = "nvmlDeviceGetPowerManagementLimit"'
start=$(date +%s%N)
gk_expect_exit 0 "a hung call: inventory still finishes" -- \
	env GPUKEEP_NVML_TIMEOUT_MS=300 "$GPUKEEP" inventory --nvml "$FAKE" --json
elapsed=$((($(date +%s%N) - start) / 1000000))
gk_check "... within the deadline plus slack (${elapsed} ms < 2000 ms)" -- test "$elapsed" -lt 2000
pycheck "... reported as NVML hung, with the call" "$GK_TMP/last.out" '
n = j["nvml"]
assert n["hung"] is True, n
assert n["error"] == "nvmlDeviceGetPowerManagementLimit did not return within 300 ms: NVML hung (driver not responding)", n["error"]
assert n["gpus"][0]["power_limit_mw"] == 700000
assert n["gpus"][1]["errors"]["power_limit_mw"] == "NVML hung (driver not responding)"
assert n["gpus"][7]["errors"] == {"gpu": "NVML hung (driver not responding)"}'

state hgx-8gpu 'g[2]["lost"] = True'
gk_expect_exit 0 "a lost GPU" -- "$GPUKEEP" inventory --nvml "$FAKE" --json
pycheck "... is named lost, the others are read" "$GK_TMP/last.out" '
g = j["nvml"]["gpus"]
assert g[2]["errors"] == {"gpu": "GPU is lost (fallen off the bus?)"} and g[2]["pci"] is None, g[2]
assert g[3]["pci"] == "0000:5d:00.0" and g[3]["errors"] == {}'

state hgx-8gpu 's["init_error"] = 18'
gk_expect_exit 0 "library/driver version mismatch" -- "$GPUKEEP" inventory --nvml "$FAKE"
gk_check "... explained" -- grep -q "^NVML: not available: NVML library and kernel driver versions differ (NVML error 18" "$GK_TMP/last.out"

# --- settings save / restore ---------------------------------------------------------------------
export GPUKEEP_NVML="$FAKE"
state nvlink-pair
gk_expect_exit 0 "settings save" -- "$GPUKEEP" settings save "$GK_TMP/settings.json"
gk_check "... says how many GPUs" -- grep -q "settings of 3 GPU(s) saved to $GK_TMP/settings.json" "$GK_TMP/last.out"
pycheck "... file has the schema and values" "$GK_TMP/settings.json" '
assert j["schema"] == "gpukeep.settings" and j["version"] == 1
g = j["gpus"][0]
assert (g["pci"], g["compute_mode"], g["power_limit_mw"]) == ("0000:3b:00.0", "exclusive_process", 250000), g
assert j["gpus"][2]["accounting_mode"] is None and j["gpus"][2]["unavailable"] == {"accounting_mode": "not supported"}'
# as after a reload: everything back to defaults; GPU 1 refuses its power limit
state nvlink-pair '
for x in g:
    x["persistence_mode"] = 0; x["compute_mode"] = 0; x["app_clock_graphics"] = 1000
g[1]["power_limit"] = 280000
g[1]["fail"] = {"nvmlDeviceSetPowerManagementLimit": 4}'
gk_expect_exit 1 "settings restore with a failing setter" -- "$GPUKEEP" settings restore "$GK_TMP/settings.json"
gk_check "... restored values reported" -- grep -q "^  0000:3b:00.0 compute_mode *restored *exclusive_process$" "$GK_TMP/last.out"
gk_check "... the failure with its reason" -- \
	grep -q "^  0000:af:00.0 power_limit_mw *failed *cannot set 300000 mW: nvmlDeviceSetPowerManagementLimit: insufficient permissions$" "$GK_TMP/last.out"
gk_check "... unsupported named" -- grep -q "^  0000:d8:00.0 accounting_mode *not supported" "$GK_TMP/last.out"
gk_check "... summary" -- grep -q "^7 restored, 6 already right, 1 failed, 1 not supported, 0 not recorded$" "$GK_TMP/last.out"
pycheck "the double's state holds the restored values" "$FAKENVML_STATE" '
g = j["gpus"]
assert [x["persistence_mode"] for x in g] == [1, 1, 1]
assert (g[0]["compute_mode"], g[0]["app_clock_graphics"], g[0]["power_limit"]) == (3, 1755, 250000)
assert g[1]["power_limit"] == 280000'
python3 -c 'import json, sys
s = json.load(open(sys.argv[1])); del s["gpus"][1]["fail"]; json.dump(s, open(sys.argv[1], "w"))' "$FAKENVML_STATE"
gk_expect_exit 0 "restore again once the setter works" -- "$GPUKEEP" settings restore "$GK_TMP/settings.json" --json
pycheck "... JSON report: the power limit restored, the rest already right" "$GK_TMP/last.out" '
out = {(x["pci"], x["setting"]): x["outcome"] for x in j}
assert out[("0000:af:00.0", "power_limit_mw")] == "restored", out
assert sorted(set(out.values())) == ["already right", "not supported", "restored"], out'
printf '{"schema": "gpukeep.settings", "version": 1, "gpus": [{"pci": "x"}]}' >"$GK_TMP/bad.json"
gk_expect_exit 2 "restore of a malformed file" -- "$GPUKEEP" settings restore "$GK_TMP/bad.json"
gk_check "... names the field" -- grep -q "settings file $GK_TMP/bad.json is malformed: gpus\[0\]: 'pci'" "$GK_TMP/last.err"
gk_expect_exit 3 "save without NVML: precondition" -- "$GPUKEEP" settings save "$GK_TMP/x.json" --nvml none
gk_expect_exit 2 "settings without an action" -- "$GPUKEEP" settings

# --- baseline and validation ---------------------------------------------------------------------
state hgx-8gpu
BL="$GK_TMP/baseline.json"
gk_expect_exit 0 "baseline save records the NVLinks" -- "$GPUKEEP" baseline save "$BL" --root /
pycheck "... link by link" "$BL" '
n = j["nvml"]
assert len(n["nvlinks"]) == 64 and n["nvlinks"][0] == {"gpu": "0000:18:00.0", "link": 0, "remote": "0000:05:00.0"}, n["nvlinks"][0]
assert n["retired_pages_pending"] == [] and n["remapped_rows_pending"] == []'
gk_expect_exit 0 "the same node validates" -- "$GPUKEEP" validate --baseline "$BL" --root /
state hgx-8gpu '
g[0]["nvlinks"][3]["active"] = False
g[1]["nvlinks"][0]["remote"] = "00000000:07:00.0"
g[2]["retired_pages_pending"] = 1
g[3]["remap_pending"] = 1'
gk_expect_exit 1 "NVLink and pending retirement differences" -- "$GPUKEEP" validate --baseline "$BL" --root /
while IFS= read -r want; do
	gk_check "named: $want" -- grep -qF "  $want" "$GK_TMP/last.out"
done <<'EOF_CASES'
0000:18:00.0: NVLink 3 is down, baseline up to 0000:06:00.0
0000:2a:00.0: NVLink 0 goes to 0000:07:00.0, baseline 0000:05:00.0
0000:3a:00.0: pages pending retirement: not cleared
0000:5d:00.0: rows pending remapping: not cleared
EOF_CASES
state hgx-8gpu 'g[5]["hang"] = "nvmlDeviceGetNvLinkState"'
gk_expect_exit 1 "a hung NVML fails validation" -- env GPUKEEP_NVML_TIMEOUT_MS=200 "$GPUKEEP" validate --baseline "$BL" --root /
gk_check "... saying so" -- grep -q "nvml: NVLink topology not checked: nvmlDeviceGetNvLinkState did not return within 200 ms: NVML hung" "$GK_TMP/last.out"
gk_expect_exit 1 "NVML unavailable where the baseline has NVLinks" -- \
	env GPUKEEP_NVML=none "$GPUKEEP" validate --baseline "$BL" --root /
gk_check "... not checked, and why" -- grep -q "nvml: NVLink topology not checked: NVML disabled" "$GK_TMP/last.out"
python3 -c 'import json, sys
b = json.load(open(sys.argv[1])); del b["nvml"]; json.dump(b, open(sys.argv[2], "w"))' "$BL" "$GK_TMP/old.json"
state hgx-8gpu
gk_expect_exit 0 "a baseline without NVML fields still loads and validates" -- \
	"$GPUKEEP" validate --baseline "$GK_TMP/old.json" --root /
python3 -c 'import json, sys
b = json.load(open(sys.argv[1])); b["nvml"]["nvlinks"][1]["link"] = 99; json.dump(b, open(sys.argv[2], "w"))' "$BL" "$GK_TMP/badnv.json"
gk_expect_exit 2 "a malformed nvml part is refused" -- "$GPUKEEP" validate --baseline "$GK_TMP/badnv.json" --root /
gk_check "... naming the link" -- grep -q "nvml: nvlinks\[1\] needs" "$GK_TMP/last.err"

# --- the NVLink fabric (NVSwitch nodes) ----------------------------------------------------------
state hgx-8gpu
pycheck "the baseline records that the node has a fabric" "$BL" 'assert j["nvml"]["fabric"] is True, j["nvml"]'
gk_expect_exit 0 "inventory with a completed fabric" -- "$GPUKEEP" inventory --nvml "$FAKE"
gk_check "... says 8/8 completed" -- grep -qx "NVLink fabric: 8/8 GPU(s) completed" "$GK_TMP/last.out"
gk_expect_exit 0 "validate with a completed fabric" -- "$GPUKEEP" validate --baseline "$BL" --root / --json
pycheck "... reports each GPU's fabric" "$GK_TMP/last.out" '
f = j["fabric"]
assert len(f) == 8 and all(x["state"] == "completed" and x["status"] == "success" and x["ready"] for x in f), f'
state hgx-8gpu 's["fabric"] = {"state": 2, "status": 0}; g[3]["fabric"] = {"state": 3, "status": 999}'
gk_expect_exit 0 "inventory while the fabric trains" -- "$GPUKEEP" inventory --nvml "$FAKE" --json
pycheck "... per GPU state, NVLinks down until trained" "$GK_TMP/last.out" '
g = j["nvml"]["gpus"]
assert g[0]["fabric"] == {"state": "in-progress", "status": None, "ready": False}, g[0]["fabric"]
assert g[3]["fabric"] == {"state": "completed", "status": "unknown NVML error", "ready": False}, g[3]["fabric"]
assert not any(l["active"] for x in g for l in x["nvlinks"]), "links up before the fabric"'
gk_expect_exit 1 "validate while the fabric trains" -- "$GPUKEEP" validate --baseline "$BL" --root /
gk_check "... names a GPU still training" -- grep -qF "  0000:18:00.0: NVLink fabric in-progress, not completed: is the fabric manager running?" "$GK_TMP/last.out"
gk_check "... names the failed registration" -- grep -qF "  0000:5d:00.0: NVLink fabric registration failed: unknown NVML error" "$GK_TMP/last.out"
gk_check "... and the links it keeps down" -- grep -qF "  0000:18:00.0: NVLink 0 is down" "$GK_TMP/last.out"
gk_check "... with the count" -- grep -qx "NVLink fabric: 0/8 GPU(s) completed with success" "$GK_TMP/last.out"
state hgx-8gpu 'del s["fabric"]'
gk_expect_exit 1 "validate on a node that lost its fabric" -- "$GPUKEEP" validate --baseline "$BL" --root /
gk_check "... says the baseline has one" -- grep -qF "  fabric: no GPU reports an NVLink fabric, baseline has one" "$GK_TMP/last.out"
python3 -c 'import json, sys
b = json.load(open(sys.argv[1])); del b["nvml"]["fabric"]; json.dump(b, open(sys.argv[2], "w"))' "$BL" "$GK_TMP/nofabric.json"
gk_expect_exit 0 "a baseline saved before fabric support loads (no fabric expected)" -- \
	"$GPUKEEP" validate --baseline "$GK_TMP/nofabric.json" --root /
python3 -c 'import json, sys
b = json.load(open(sys.argv[1])); b["nvml"]["fabric"] = "yes"; json.dump(b, open(sys.argv[2], "w"))' "$BL" "$GK_TMP/badfabric.json"
gk_expect_exit 2 "a malformed fabric field is refused" -- "$GPUKEEP" validate --baseline "$GK_TMP/badfabric.json" --root /
gk_check "... naming it" -- grep -q "nvml: 'fabric' must be true or false" "$GK_TMP/last.err"
echo 1 >"$GK_TMP/fabric_state"
state hgx-8gpu "del s['fabric']; s['fabric_state_file'] = '$GK_TMP/fabric_state'"
gk_expect_exit 0 "inventory with the fabric from the driver's mark" -- "$GPUKEEP" inventory --nvml "$FAKE"
gk_check "... not started" -- grep -q "NVLink fabric: 0/8 GPU(s) completed; not ready: 0000:18:00.0 (not-started)" "$GK_TMP/last.out"
echo 3 >"$GK_TMP/fabric_state"
gk_expect_exit 0 "... marked trained" -- "$GPUKEEP" validate --baseline "$BL" --root /

gk_done
