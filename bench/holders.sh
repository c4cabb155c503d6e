#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark: gpukeep holders against fuser -v and lsof on the same files. Starts N processes that
# each hold 20 fixture device files and 50 unrelated fds, times each tool several times (median),
# checks that all three name the same pids, and prints the ratios.
#
# usage: bench/holders.sh [-n PROCESSES] [-r REPETITIONS] [-g GPUKEEP]
#   GPUKEEP defaults to build/src/gpukeep/gpukeep; the fd-hold helper is taken from the same
#   build directory, or built with CC (default cc).

set -euo pipefail

N=1000
REPS=5
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GPUKEEP=${GPUKEEP:-$SRC/build/src/gpukeep/gpukeep}
N_FILES=20
N_UNRELATED=50

while getopts "n:r:g:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	r) REPS=$OPTARG ;;
	g) GPUKEEP=$OPTARG ;;
	h)
		sed -n '3,10s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*) exit 2 ;;
	esac
done
for tool in fuser lsof python3; do
	command -v "$tool" >/dev/null || {
		echo "bench/holders.sh: $tool is needed" >&2
		exit 2
	}
done
[ -x "$GPUKEEP" ] || {
	echo "bench/holders.sh: no gpukeep at $GPUKEEP (build it, or pass -g)" >&2
	exit 2
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gk-bench.XXXXXX")
HOLDERS=()
cleanup()
{
	if [ "${#HOLDERS[@]}" -gt 0 ]; then
		kill "${HOLDERS[@]}" 2>/dev/null || true
		wait 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

ROOT=$TMP/root
mkdir -p "$ROOT/dev"
ln -s /proc "$ROOT/proc"
FILES=()
for ((i = 0; i < N_FILES - 4; i++)); do
	FILES+=("$ROOT/dev/nvidia$i")
done
FILES+=("$ROOT/dev/nvidiactl" "$ROOT/dev/nvidia-uvm" "$ROOT/dev/nvidia-uvm-tools"
	"$ROOT/dev/nvidia-modeset")
for f in "${FILES[@]}"; do
	: >"$f"
done
: >"$TMP/unrelated"
# the helper from the build directory next to gpukeep, else built here
FD_HOLD=$(dirname "$GPUKEEP")/../../tests/helpers/fd-hold
if [ ! -x "$FD_HOLD" ]; then
	FD_HOLD=$TMP/fd-hold
	"${CC:-cc}" -O2 -o "$FD_HOLD" "$SRC/tests/helpers/fd-hold.c"
fi

# Start the holders and wait until every one has opened its files (each appends one byte).
for ((i = 0; i < N; i++)); do
	"$FD_HOLD" -u "$N_UNRELATED" -U "$TMP/unrelated" -r "$TMP/ready" "${FILES[@]}" &
	HOLDERS+=($!)
done
for ((i = 0; i < 600; i++)); do
	[ "$(stat -c %s "$TMP/ready" 2>/dev/null || echo 0)" -ge "$N" ] && break
	sleep 0.1
done
[ "$(stat -c %s "$TMP/ready")" -ge "$N" ] || {
	echo "bench/holders.sh: the holders did not start" >&2
	exit 1
}

# now_us: microseconds since the epoch, from bash's EPOCHREALTIME (no fork).
now_us()
{
	local t=${EPOCHREALTIME/[.,]/}
	echo "$((10#$t))"
}

declare -A TIMES
run_timed()
{
	local name=$1 t0 t1
	shift
	t0=$(now_us)
	"$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || true
	t1=$(now_us)
	TIMES[$name]+="$((t1 - t0)) "
}

# median_ms "T1 T2 ...": the median of microsecond times, in milliseconds.
median_ms()
{
	local -a t
	read -ra t <<<"$1"
	python3 -c 'import statistics, sys
print("%.1f" % (statistics.median(map(int, sys.argv[1:])) / 1000))' "${t[@]}"
}

for ((rep = 0; rep < REPS; rep++)); do
	run_timed gpukeep "$GPUKEEP" holders --root "$ROOT"
	run_timed gpukeep_json "$GPUKEEP" holders --root "$ROOT" --json
	run_timed fuser fuser -v "${FILES[@]}"
	run_timed lsof lsof -n -P -w "${FILES[@]}"
done

# The answers: pid sets from each tool's own output (fuser and lsof again, untimed, in pid form).
python3 -c 'import json, sys
print("\n".join(sorted(str(h["pid"]) for h in json.load(open(sys.argv[1]))["holders"])))' \
	"$TMP/gpukeep_json.out" >"$TMP/pids.gpukeep"
fuser "${FILES[@]}" 2>/dev/null | tr -s ' ' '\n' | tr -cd '0-9\n' | sed '/^$/d' | sort -u \
	>"$TMP/pids.fuser"
lsof -n -P -w -t "${FILES[@]}" | sort -u >"$TMP/pids.lsof"
printf '%s\n' "${HOLDERS[@]}" | sort -u >"$TMP/pids.expected"

same=yes
for tool in gpukeep fuser lsof; do
	if ! cmp -s "$TMP/pids.expected" "$TMP/pids.$tool"; then
		echo "MISMATCH: $tool names $(wc -l <"$TMP/pids.$tool") pids, expected $N" >&2
		same=no
	fi
done

g=$(median_ms "${TIMES[gpukeep]}")
j=$(median_ms "${TIMES[gpukeep_json]}")
f=$(median_ms "${TIMES[fuser]}")
l=$(median_ms "${TIMES[lsof]}")
echo "inputs: $N processes x ($N_FILES device files + $N_UNRELATED unrelated fds), $REPS runs each;"
echo "        $(find /proc -maxdepth 1 -name '[0-9]*' | wc -l) processes in /proc, $(nproc) CPUs," \
	"kernel $(uname -r)"
echo "        $("$GPUKEEP" --version), $(fuser -V 2>&1 | head -1), lsof $(lsof -v 2>&1 |
	sed -n 's/^ *revision: *//p')"
echo "same pid set from all three: $same"
printf '%-28s %10s\n' "tool (median of $REPS)" "ms"
printf '%-28s %10s\n' "gpukeep holders" "$g" "gpukeep holders --json" "$j" "fuser -v" "$f" \
	"lsof -n -P -w" "$l"
python3 -c 'import sys; g, j, f, l = map(float, sys.argv[1:])
print("ratio fuser/gpukeep: %.2f (with --json: %.2f)" % (f / g, f / j))
print("ratio lsof/gpukeep:  %.2f (with --json: %.2f)" % (l / g, l / j))' "$g" "$j" "$f" "$l"
[ "$same" = yes ]
