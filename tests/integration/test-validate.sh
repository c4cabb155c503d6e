#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep baseline save / validate on the fixture nodes: a good node matches, each broken node
# is named with the difference, and corrupt or missing baselines are refused clearly.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root to mknod the fixture device nodes (make check runs as root in CI)"
	exit 77
fi

BL="$GK_TMP/baseline.json"
good=$(gk_fixture hgx-8gpu)
gk_expect_exit 0 "baseline save on a good node" -- "$GPUKEEP" baseline save "$BL" --root "$good"
gk_check "... says what it recorded" -- \
	grep -q "baseline saved to $BL: 8 GPU(s), 4 NVSwitch(es), 5 module(s), 17 device node(s)" "$GK_TMP/last.out"
gk_check "... file is a gpukeep baseline" -- python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
assert b["schema"] == "gpukeep.baseline" and b["version"] == 1
assert len(b["gpus"]) == 8 and all(g["bound"] for g in b["gpus"])
' "$BL"
gk_expect_exit 0 "baseline show reads it back" -- "$GPUKEEP" baseline show "$BL"
gk_expect_exit 0 "the same node validates" -- "$GPUKEEP" validate --baseline "$BL" --root "$good"
gk_check "... and says so" -- grep -q "^node matches baseline" "$GK_TMP/last.out"

# name:expected difference line
while IFS=: read -r node want; do
	root=$(gk_fixture "$node")
	gk_expect_exit 1 "$node differs from the baseline" -- \
		"$GPUKEEP" validate --baseline "$BL" --root "$root"
	gk_check "$node: difference named: $want" -- grep -qF "$want" "$GK_TMP/last.out"
done <<'EOF_CASES'
probe-failed:  0000:ba:00.0: GPU not bound to nvidia (the probe failed)
probe-failed:  gpus: 7 GPU(s) bound to nvidia, baseline 8
link-x8:  0000:5d:00.0: PCIe link is x8, baseline x16
no-driver:  nvidia: module not loaded
no-driver:  0000:18:00.0: GPU not bound: the nvidia driver is not loaded
quirks:  0000:9a:00.0: GPU missing from the PCI bus
EOF_CASES

root=$(gk_fixture link-x8)
gk_expect_exit 1 "validate --json on a degraded node" -- \
	"$GPUKEEP" validate --baseline "$BL" --root "$root" --json
gk_check "... JSON names the GPU" -- python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
assert v["schema"] == "gpukeep.validation" and v["matches"] is False
assert [d["object"] for d in v["differences"]] == ["0000:5d:00.0"], v
' "$GK_TMP/last.out"

# Corrupt and missing baselines: usage errors that name the file and the field; nothing written.
cp "$BL" "$GK_TMP/keep.json"
python3 -c '
import json, sys
b = json.load(open(sys.argv[1])); b["gpus"][2]["pci"] = "0000:3a:00"
json.dump(b, open(sys.argv[2], "w"))' "$BL" "$GK_TMP/bad.json"
gk_expect_exit 2 "a baseline with a malformed PCI address" -- \
	"$GPUKEEP" validate --baseline "$GK_TMP/bad.json" --root "$good"
gk_check "... names the file and the field" -- \
	grep -q "baseline $GK_TMP/bad.json is malformed: gpus\[2\]: '0000:3a:00' is not a PCI address" "$GK_TMP/last.err"
head -c 200 "$BL" >"$GK_TMP/truncated.json"
gk_expect_exit 2 "a truncated baseline" -- "$GPUKEEP" validate --baseline "$GK_TMP/truncated.json" --root "$good"
gk_check "... says it is not valid JSON" -- grep -q "is malformed: not valid JSON" "$GK_TMP/last.err"
gk_check "... truncated, and where (was 'not valid JSON: continue')" -- \
	grep -q "is malformed: not valid JSON: truncated at byte 200 (line " "$GK_TMP/last.err"
# issue 15, defect 7: a FIFO blocked validate for ever; a negative speed or a duplicate GPU passed
mkfifo "$GK_TMP/fifo.json"
gk_expect_exit 2 "a FIFO as the baseline is refused at once" -- timeout 10 "$GPUKEEP" validate \
	--baseline "$GK_TMP/fifo.json" --root "$good"
gk_check "... as not a regular file" -- grep -q "fifo.json is malformed: not a regular file" \
	"$GK_TMP/last.err"
python3 -c '
import json, sys
b = json.load(open(sys.argv[1])); b["gpus"][1]["max_gts"] = -16.0
json.dump(b, open(sys.argv[2], "w"))
b = json.load(open(sys.argv[1])); b["gpus"][3]["pci"] = b["gpus"][0]["pci"]
json.dump(b, open(sys.argv[3], "w"))' "$BL" "$GK_TMP/negative.json" "$GK_TMP/dup.json"
gk_expect_exit 2 "a baseline with a negative link speed" -- \
	"$GPUKEEP" validate --baseline "$GK_TMP/negative.json" --root "$good"
gk_check "... names the GPU and the value" -- \
	grep -q "gpus\[1\]: max_gts -16 is not a link speed" "$GK_TMP/last.err"
gk_expect_exit 2 "a baseline with two GPUs at one PCI address" -- \
	"$GPUKEEP" validate --baseline "$GK_TMP/dup.json" --root "$good"
gk_check "... names both" -- grep -q "gpus\[0\] and gpus\[3\] have the same PCI address" \
	"$GK_TMP/last.err"
gk_expect_exit 2 "a missing baseline" -- "$GPUKEEP" validate --baseline "$GK_TMP/none.json" --root "$good"
gk_check "... names it" -- grep -q "cannot read baseline $GK_TMP/none.json: No such file" "$GK_TMP/last.err"
gk_expect_exit 1 "baseline save into a missing directory" -- \
	"$GPUKEEP" baseline save "$GK_TMP/no/such/dir.json" --root "$good"
gk_check "the good baseline was not touched" -- cmp -s "$BL" "$GK_TMP/keep.json"
gk_expect_exit 2 "baseline without an action" -- "$GPUKEEP" baseline
gk_expect_exit 2 "baseline with an unknown action" -- "$GPUKEEP" baseline load x
gk_expect_exit 2 "validate with a stray argument" -- "$GPUKEEP" validate x

gk_done
