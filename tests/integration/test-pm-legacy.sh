#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep pm without gpukeepd: the driver's legacy persistence mode through NVML (the fake
# libnvidia-ml), one GPU or all, read back; refusals and a missing NVML are clear errors.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

FAKE="$GK_BUILD_DIR/tests/fakenvml/libfakenvml.so"
STATE="$GK_TMP/nvml.json"
NOSOCK="$GK_TMP/no-daemon/socket"
unset GPUKEEP_NVML GPUKEEP_NVML_TIMEOUT_MS
cp "$GK_SOURCE_DIR/tests/fakenvml/states/nvlink-pair.json" "$STATE"
# shellcheck disable=SC2317 # called through gk_expect_exit
pm() { env GPUKEEP_NVML="$FAKE" FAKENVML_STATE="$STATE" "$GPUKEEP" pm --socket "$NOSOCK" "$@"; }
modes() { python3 -c 'import json,sys; print(" ".join(str(g["persistence_mode"]) for g in json.load(open(sys.argv[1]))["gpus"]))' "$STATE"; }

gk_check "the fake node starts with persistence on everywhere" -- test "$(modes)" = "1 1 1"
gk_expect_exit 0 "pm -i <NVML-spelled PCI address> 0, no daemon" -- pm -i 00000000:3B:00.0 0
gk_check "... says it uses the legacy mode" -- grep -q "gpukeepd is not running: using the driver's legacy persistence mode" "$GK_TMP/last.err"
gk_check "... names the GPU" -- grep -q "GPU 0000:3b:00.0: legacy persistence mode disabled" "$GK_TMP/last.out"
gk_check "... only that GPU changed (read from the fake's state)" -- test "$(modes)" = "0 1 1"
gk_expect_exit 0 "pm 1 for all GPUs" -- pm 1
gk_check "... all on again" -- test "$(modes)" = "1 1 1"
gk_expect_exit 0 "pm -i <UUID> DISABLED" -- pm -i GPU-5EED0001-1111-2222-3333-000000000001 DISABLED
gk_check "... that GPU off" -- test "$(modes)" = "1 0 1"

gk_expect_exit 0 "the library named by --nvml instead of the environment" -- \
	env FAKENVML_STATE="$STATE" "$GPUKEEP" pm --nvml "$FAKE" --socket "$NOSOCK" -i 1 1
gk_check "... GPU 1 on again" -- test "$(modes)" = "1 1 1"

gk_expect_exit 2 "an unknown GPU" -- pm -i GPU-00000000-0000-0000-0000-000000000000 1
gk_check "... is named" -- grep -q "no GPU that NVML knows matches" "$GK_TMP/last.err"
gk_check "... and nothing changed" -- test "$(modes)" = "1 1 1"

python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
s["gpus"][2]["fail"] = {"nvmlDeviceSetPersistenceMode": 4}
json.dump(s, open(sys.argv[1], "w"))' "$STATE"
gk_expect_exit 3 "a setter refused for lack of permission" -- pm 0
gk_check "... names the GPU and the reason" -- grep -q "GPU 0000:.*: cannot disable legacy persistence mode: .*" "$GK_TMP/last.err"

gk_expect_exit 1 "no daemon and no NVML" -- env GPUKEEP_NVML=none "$GPUKEEP" pm --socket "$NOSOCK" 1
gk_check "... says both, and how to start the daemon" -- grep -q "gpukeepd is not running and NVML is not usable.*systemctl start gpukeepd" "$GK_TMP/last.err"

gk_done
