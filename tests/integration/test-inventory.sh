#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep inventory on every fixture node: text and JSON compared with the reviewed expected
# files, JSON checked against the schema's promises, and bad roots and corrupt files.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	# fixture device nodes must be real character devices to be reported "ok"
	echo "1..0 # SKIP needs root to mknod the fixture device nodes (make check runs as root in CI)"
	exit 77
fi

EXPECTED="$GK_SOURCE_DIR/tests/integration/expected"

for node in hgx-8gpu probe-failed link-x8 no-driver quirks; do
	root=$(gk_fixture "$node") || { gk_result 1 "build fixture $node"; continue; }
	gk_expect_exit 0 "$node: inventory reads the node" -- "$GPUKEEP" inventory --root "$root"
	gk_diff "$node: text output as expected" "$EXPECTED/$node.txt" "$GK_TMP/last.out"
	gk_expect_exit 0 "$node: inventory --json" -- "$GPUKEEP" inventory --root "$root" --json
	gk_diff "$node: JSON output as expected" "$EXPECTED/$node.json" "$GK_TMP/last.out"
	gk_check "$node: JSON has the schema, version and every GPU" -- python3 - "$GK_TMP/last.out" "$root" <<'PY'
import json, os, sys
inv = json.load(open(sys.argv[1]))
assert inv["schema"] == "gpukeep.inventory" and inv["version"] == 1, "schema"
on_bus = sorted(os.listdir(os.path.join(sys.argv[2], "sys/bus/pci/devices")))
gpus = [g["pci"] for g in inv["gpus"]]
assert gpus == sorted(gpus), "GPUs sorted by PCI address"
assert [g["index"] for g in inv["gpus"]] == list(range(len(gpus))), "indexes"
assert set(gpus) <= set(on_bus), "every GPU is on the bus"
for g in inv["gpus"]:
    assert g["vendor_id"] == "0x10de", g
    assert g["bound"] == (g["driver"] == "nvidia"), g
    assert g["minor"] is None or 0 <= g["minor"] <= 253, g
PY
done

# What each node must show, independent of layout.
root=$("$GK_SOURCE_DIR/tests/fixtures/mknode" "$GK_SOURCE_DIR/tests/fixtures/nodes/probe-failed.json" "$GK_TMP/pf" && echo "$GK_TMP/pf")
"$GPUKEEP" inventory --root "$root" >"$GK_TMP/pf.txt"
gk_check "probe-failed: the GPU that failed to probe is named" -- \
	grep -q "0000:ba:00.0: GPU not bound to any driver" "$GK_TMP/pf.txt"
gk_check "probe-failed: 8 on the bus, 7 bound" -- grep -q "GPUs: 8 on the PCI bus, 7 bound" "$GK_TMP/pf.txt"

root=$(gk_fixture link-x8)
"$GPUKEEP" inventory --root "$root" >"$GK_TMP/x8.txt"
gk_check "link-x8: the degraded link is named" -- \
	grep -q "0000:5d:00.0: PCIe link degraded: running x8, capable of x16" "$GK_TMP/x8.txt"

root=$(gk_fixture hgx-8gpu)
"$GPUKEEP" inventory --root "$root" --json >"$GK_TMP/hgx.json"
gk_check "hgx-8gpu: module closure lists peermem, drm, modeset, uvm, not drm core" -- python3 - "$GK_TMP/hgx.json" <<'PY'
import json, sys
mods = [m["name"] for m in json.load(open(sys.argv[1]))["modules"]]
assert mods == ["nvidia", "nvidia_modeset", "nvidia_peermem", "nvidia_uvm", "nvidia_drm"], mods
PY

# A third-party dependent (gdrdrv) is part of the graph.
root=$(gk_fixture quirks)
"$GPUKEEP" inventory --root "$root" >"$GK_TMP/q.txt"
gk_check "quirks: gdrdrv is in the module graph" -- grep -q "^  gdrdrv " "$GK_TMP/q.txt"
gk_check "quirks: the malformed information file is named" -- \
	grep -q "malformed /proc/driver/nvidia/gpus/0000:3a:00.0/information: bad or missing 'Device Minor'" "$GK_TMP/q.txt"
gk_check "quirks: the missing device node is named with the fix" -- \
	grep -q "/dev/nvidia1: device node missing; create it with 'mknod -m 666 /dev/nvidia1 c 195 1'" "$GK_TMP/q.txt"

# HGX: the NVSwitch device files are expected from the bound NVSwitches and /proc/devices.
hgx_variant()
{
	python3 - "$GK_SOURCE_DIR/tests/fixtures/nodes/hgx-8gpu.json" "$GK_TMP/$1.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d.update(json.loads(sys.argv[3]))
json.dump(d, open(sys.argv[2], "w"))
PY
	python3 "$MKNODE" "$GK_TMP/$1.json" "$GK_TMP/$1" >&2 && echo "$GK_TMP/$1"
}
root=$(gk_fixture hgx-8gpu)
gk_check "hgx-8gpu: the NVSwitch device files are listed with the dynamic major" -- \
	grep -q "^  /dev/nvidia-nvswitchctl  509:255 ok" "$GK_SOURCE_DIR/tests/integration/expected/hgx-8gpu.txt"
root=$(hgx_variant sw-missing '{"missing_nodes": ["/dev/nvidia-nvswitch2"]}')
"$GPUKEEP" inventory --root "$root" >"$GK_TMP/sw.txt"
gk_check "hgx: a missing NVSwitch node is named with the fix" -- \
	grep -q "/dev/nvidia-nvswitch2: device node missing; create it with 'mknod -m 666 /dev/nvidia-nvswitch2 c 509 2'" "$GK_TMP/sw.txt"
root=$(hgx_variant sw-wrong '{"wrong_nodes": {"/dev/nvidia-nvswitchctl": [509, 0]}}')
"$GPUKEEP" inventory --root "$root" >"$GK_TMP/sw.txt"
gk_check "hgx: a stale NVSwitch control node is named" -- \
	grep -q "/dev/nvidia-nvswitchctl: device node is 509:0, expected 509:255" "$GK_TMP/sw.txt"
root=$(hgx_variant sw-unbound '{"nvswitches": [{"pci": "0000:05:00.0"}, {"pci": "0000:06:00.0", "bound": false}]}')
"$GPUKEEP" inventory --root "$root" --json >"$GK_TMP/sw.json"
gk_check "hgx: an unbound NVSwitch is a problem; one bound switch, one node and ctl expected" -- \
	python3 - "$GK_TMP/sw.json" <<'PY'
import json, sys
inv = json.load(open(sys.argv[1]))
sw = {s["pci"]: s["bound"] for s in inv["nvswitches"]}
assert sw == {"0000:05:00.0": True, "0000:06:00.0": False}, sw
probs = [p["object"] for p in inv["problems"] if "not bound to nvidia-nvswitch" in p["message"]]
assert probs == ["0000:06:00.0"], inv["problems"]
nodes = [n["path"] for n in inv["device_nodes"] if "nvswitch" in n["path"]]
assert nodes == ["/dev/nvidia-nvswitch0", "/dev/nvidia-nvswitchctl"], nodes
PY
root=$(hgx_variant sw-noregion '{"nvswitch_region": false}')
"$GPUKEEP" inventory --root "$root" >"$GK_TMP/sw.txt"
gk_check "hgx: NVSwitches bound without the nvidia-nvswitch region is named" -- \
	grep -q "/proc/devices: 4 NVSwitch(es) bound but no 'nvidia-nvswitch' character device" "$GK_TMP/sw.txt"

# Corrupt inputs: a clear message naming the file, never a crash.
root=$(gk_fixture hgx-8gpu)
printf 'nvidia 1 2 nvidia_uvm Live 0x0\n' >"$root/proc/modules"
printf 'garbage\n' >"$root/proc/driver/nvidia/version"
gk_expect_exit 0 "corrupt /proc/modules and version: still reads the node" -- \
	"$GPUKEEP" inventory --root "$root"
gk_check "corrupt /proc/modules is named with its line" -- grep -q "/proc/modules: malformed at line 1" "$GK_TMP/last.out"
gk_check "corrupt version file is named" -- \
	grep -q "/proc/driver/nvidia/version: malformed: no 'NVRM version:' line" "$GK_TMP/last.out"
head -c 3000000 /dev/zero | tr '\0' 'x' >"$root/proc/driver/nvidia/gpus/0000:18:00.0/information"
gk_expect_exit 0 "oversized information file: still reads the node" -- "$GPUKEEP" inventory --root "$root"
gk_check "oversized information file is named" -- \
	grep -q "cannot read /proc/driver/nvidia/gpus/0000:18:00.0/information: File too large" "$GK_TMP/last.out"

# Bad roots and bad usage.
gk_expect_exit 1 "a root that does not exist" -- "$GPUKEEP" inventory --root "$GK_TMP/nope"
gk_check "... names the root" -- grep -q "cannot open root directory $GK_TMP/nope" "$GK_TMP/last.err"
mkdir -p "$GK_TMP/empty"
gk_expect_exit 1 "a root without /sys/bus/pci/devices" -- "$GPUKEEP" inventory --root "$GK_TMP/empty"
gk_check "... names what it could not read" -- grep -q "cannot read the PCI devices under $GK_TMP/empty" "$GK_TMP/last.err"
gk_expect_exit 2 "an unknown option" -- "$GPUKEEP" inventory --bogus
gk_expect_exit 2 "a stray argument" -- "$GPUKEEP" inventory extra
gk_expect_exit 2 "an unknown verb" -- "$GPUKEEP" frobnicate
gk_expect_exit 0 "--help" -- "$GPUKEEP" inventory --help
gk_check "--help lists --root and --json" -- grep -q -- "--root DIR" "$GK_TMP/last.out"

gk_done
