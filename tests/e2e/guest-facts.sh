#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs inside the guest (the scenarios add it with --add): records what the kernel itself says,
# so host-side checks compare gpukeep's report with the node rather than with constants.
mkdir -p /out/facts
for d in /sys/bus/pci/devices/*; do
	drv=-
	[ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
	printf '%s %s %s %s %s %s %s\n' "${d##*/}" "$(cat "$d/vendor")" "$(cat "$d/device")" \
		"$(cat "$d/class")" "$drv" "$(cat "$d/current_link_width" 2>/dev/null || echo -)" \
		"$(cat "$d/max_link_width" 2>/dev/null || echo -)"
done >/out/facts/pci
cp /proc/modules /out/facts/modules
for m in /sys/module/nvidia*; do
	[ -d "$m/holders" ] || continue
	# shellcheck disable=SC2012 # module names are plain words
	echo "${m##*/} $(ls "$m/holders" | sort | tr '\n' ' ')"
done >/out/facts/holders
for f in /proc/driver/nvidia/gpus/*/information; do
	[ -e "$f" ] || continue
	b=${f%/information}
	echo "${b##*/} $(sed -n 's/^GPU UUID:[[:space:]]*//p' "$f") $(sed -n 's/^Device Minor:[[:space:]]*//p' "$f")"
done >/out/facts/gpus
cat /proc/driver/nvidia/version >/out/facts/version 2>/dev/null
dmesg >/out/facts/dmesg
