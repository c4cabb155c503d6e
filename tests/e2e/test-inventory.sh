#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep inventory on a 4-GPU node with NVSwitches and degraded links: every GPU, its
# identity, link and minor, and the module graph, checked against what the guest kernel says.
# shellcheck disable=SC2016 # guest commands and awk programs: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare
e2e_need_gpukeep

boot inv --gpus 4 --nvswitches 4 --link-width 2:8 --link-speed 3:16 \
	--add "$E2E_SRC/tests/e2e/guest-facts.sh" -- '
guest-facts.sh
gpukeep inventory --json >/out/inventory.json; echo $? >/out/inventory.rc
gpukeep inventory >/out/inventory.txt 2>&1
'

check "the guest command succeeded" same "$(cat "$E2E_TMP/inv.rc")" 0
python3 -c 'import json, sys
for p in json.load(open(sys.argv[1]))["problems"]:
    print("# problem:", p["object"], "-", p["message"])' "$E2E_TMP/inv/inventory.json" 2>/dev/null || true
check "gpukeep inventory --json exited 0" same "$(cat "$E2E_TMP/inv/inventory.rc" 2>/dev/null)" 0
pcheck inv "the report has the inventory schema, version 1" \
	'j("inventory.json")["schema"] == "gpukeep.inventory" and j("inventory.json")["version"] == 1'
pcheck inv "the node has the 4 GPUs asked for, in sysfs" 'len(out.nvidia_gpus()) == 4'
pcheck inv "inventory lists exactly the NVIDIA GPUs sysfs has" \
	'sorted(g["pci"] for g in j("inventory.json")["gpus"]) == sorted(g["pci"] for g in out.nvidia_gpus())'
pcheck inv "every GPU shows vendor 0x10de, device 0x2330, class 0x0302xx" \
	'all(g["vendor_id"] == "0x10de" and g["device_id"] == "0x2330" and g["class"].startswith("0x0302") for g in j("inventory.json")["gpus"])'
pcheck inv "every GPU is bound to nvidia" \
	'all(g["bound"] and g["driver"] == "nvidia" for g in j("inventory.json")["gpus"])'
pcheck inv "UUIDs and minors match /proc/driver/nvidia/gpus/*/information" \
	'all((g["uuid"], g["minor"]) == out.driver_gpus()[g["pci"]] for g in j("inventory.json")["gpus"])'
pcheck inv "UUIDs are distinct" 'len({g["uuid"] for g in j("inventory.json")["gpus"]}) == 4'
pcheck inv "link widths match sysfs (GPU 2 runs at x8 of x16)" \
	'[(g["link"]["current_width"], g["link"]["max_width"]) for g in sorted(j("inventory.json")["gpus"], key=lambda g: g["pci"])] == [(r["current_width"], r["max_width"]) for r in out.nvidia_gpus()] == [(16, 16), (16, 16), (8, 16), (16, 16)]'
pcheck inv "link speeds: GPU 3 at 16 GT/s of 32, the others at 32" \
	'[(g["link"]["current_speed"], g["link"]["max_speed"]) for g in sorted(j("inventory.json")["gpus"], key=lambda g: g["pci"])] == [("32.0 GT/s PCIe", "32.0 GT/s PCIe")] * 3 + [("16.0 GT/s PCIe", "32.0 GT/s PCIe")]'
pcheck inv "the 4 NVSwitches are listed, bound to nvidia-nvswitch" \
	'sorted(s["pci"] for s in j("inventory.json")["nvswitches"]) == sorted(s["pci"] for s in out.nvswitches()) and len(out.nvswitches()) == 4 and all(s["bound"] and s["driver"] == "nvidia-nvswitch" for s in j("inventory.json")["nvswitches"])'
pcheck inv "the driver is loaded, with the version from /proc/driver/nvidia/version" \
	'j("inventory.json")["driver"]["loaded"] and j("inventory.json")["driver"]["version"] in out.text("facts/version")'
pcheck inv "the module graph has nvidia, nvidia_modeset, nvidia_uvm, nvidia_drm" \
	'{"nvidia", "nvidia_modeset", "nvidia_uvm", "nvidia_drm"} <= {m["name"] for m in j("inventory.json")["modules"]}'
pcheck inv "module holders and refcounts match /proc/modules" \
	'all((m["refcnt"], sorted(m["holders"])) == out.modules()[m["name"]] for m in j("inventory.json")["modules"] if m["name"] in out.modules())'
pcheck inv "nvidia is held by nvidia_modeset and nvidia_uvm; nvidia_modeset by nvidia_drm" \
	'{m["name"]: sorted(m["holders"]) for m in j("inventory.json")["modules"]}.get("nvidia") == ["nvidia_modeset", "nvidia_uvm"] and {m["name"]: sorted(m["holders"]) for m in j("inventory.json")["modules"]}.get("nvidia_modeset") == ["nvidia_drm"]'
pcheck inv "device nodes /dev/nvidia0..3 and /dev/nvidiactl are ok" \
	'{"/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia2", "/dev/nvidia3", "/dev/nvidiactl"} <= {n["path"] for n in j("inventory.json")["device_nodes"] if n["status"] == "ok"}'
# GPUs 2 and 3 run degraded links, which inventory may well report; 0 and 1 are healthy.
pcheck inv "no problem names a healthy GPU (0 or 1)" \
	'not [p for p in j("inventory.json")["problems"] for g in sorted(r["pci"] for r in out.nvidia_gpus())[:2] if g in p["object"] + p["message"]]'
pcheck inv "the text report names every GPU" \
	'all(g["pci"] in out.text("inventory.txt") for g in out.nvidia_gpus())'
e2e_done
