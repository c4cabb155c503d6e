#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A GPU whose nvidia probe fails at load: modprobe still succeeds (as on a real node), the GPU
# stays in PCI but unbound, and gpukeep inventory says which one is missing.
# shellcheck disable=SC2016 # guest commands and awk programs: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare
e2e_need_gpukeep

boot probe --gpus 3 --fail-probe 1 --add "$E2E_SRC/tests/e2e/guest-facts.sh" -- '
guest-facts.sh
gpukeep inventory --json >/out/inventory.json; echo $? >/out/inventory.rc
gpukeep inventory >/out/inventory.txt 2>&1
'

# GPU 1 in PCI order is the one told to fail; the others must be unaffected.
bad='sorted(g["pci"] for g in out.nvidia_gpus())[1]'
check "the guest command succeeded" same "$(cat "$E2E_TMP/probe.rc")" 0
echo "# gpukeep inventory exited $(cat "$E2E_TMP/probe/inventory.rc" 2>/dev/null)"
pcheck probe "the kernel logged the real probe-failure line" \
	'"NVRM: The NVIDIA probe routine failed for 1 device(s)." in out.text("facts/dmesg")'
pcheck probe "sysfs still has 3 GPUs, 2 of them bound to nvidia" \
	'len(out.nvidia_gpus()) == 3 and [g["driver"] for g in out.nvidia_gpus()].count("nvidia") == 2'
pcheck probe "the driver has only 2 GPUs" 'len(out.driver_gpus()) == 2'
pcheck probe "inventory lists all 3 GPUs" 'len(j("inventory.json")["gpus"]) == 3'
pcheck probe "inventory shows GPU 1 unbound, with no minor or UUID" \
	'[(g["bound"], g["minor"], g["uuid"]) for g in j("inventory.json")["gpus"] if g["pci"] == '"$bad"'] == [(False, None, None)]'
pcheck probe "inventory shows the other GPUs bound, with their driver minors" \
	'all(g["bound"] and g["minor"] == out.driver_gpus()[g["pci"]][1] for g in j("inventory.json")["gpus"] if g["pci"] != '"$bad"')'
pcheck probe "a problem names the unbound GPU" \
	'any('"$bad"' in p["object"] + p["message"] for p in j("inventory.json")["problems"])'
pcheck probe "no problem names a healthy GPU" \
	'not any(g["pci"] in p["object"] + p["message"] for p in j("inventory.json")["problems"] for g in out.nvidia_gpus() if g["pci"] != '"$bad"')'
pcheck probe "the text report names the unbound GPU" '('"$bad"') in out.text("inventory.txt")'
e2e_done
