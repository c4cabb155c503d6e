#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for the gpukeepd tests, sourced after lib.sh: fixture roots whose device files are
# regular files, starting and stopping the real daemon, and reading what it holds from
# /proc/<pid>/fd.

GPUKEEPD=${GPUKEEPD:-$GK_BUILD_DIR/src/gpukeepd/gpukeepd}
GKD_PID=
GKD_SOCK=$GK_TMP/run/socket
GKD_LOG=$GK_TMP/gkd.log

# gkc COMMAND SOCKET ARGS...: the protocol test client (tests/integration/gkd-client.py).
gkc()
{
	python3 "$GK_SOURCE_DIR/tests/integration/gkd-client.py" "$@"
}

# gkd_root FIXTURE: builds tests/fixtures/nodes/FIXTURE.json with regular files as device nodes
# (world-readable, so that a daemon that dropped root can open them) and prints the root.
gkd_root()
{
	local root="$GK_TMP/root-$1"
	python3 - "$GK_SOURCE_DIR/tests/fixtures/nodes/$1.json" "$GK_TMP/$1-files.json" <<'EOF' || return 1
import json, sys
d = json.load(open(sys.argv[1]))
d["device_nodes"] = "files"
json.dump(d, open(sys.argv[2], "w"))
EOF
	python3 "$MKNODE" "$GK_TMP/$1-files.json" "$root" 2>/dev/null || return 1
	chmod 0755 "$GK_TMP"
	chmod 0666 "$root"/dev/nvidia*
	echo "$root"
}

# gkd_start ROOT [OPTIONS...]: starts the daemon in the foreground (stderr to $GKD_LOG) with its
# runtime and state directories in $GK_TMP, and waits until its socket answers.
gkd_start()
{
	local root=$1 i
	shift
	"$GPUKEEPD" --foreground --root "$root" --runtime-dir "$GK_TMP/run" \
		--state-dir "$GK_TMP/state" "$@" 2>>"$GKD_LOG" &
	GKD_PID=$!
	for ((i = 0; i < 200; i++)); do
		if [ -S "$GKD_SOCK" ] && gkc call "$GKD_SOCK" '{"version":1,"request":"status"}' \
			>/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$GKD_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# gpukeepd did not start; log:" >&2
	sed 's/^/#   /' "$GKD_LOG" >&2
	return 1
}

# gkd_stop: SIGTERM, then the daemon's exit status (124 when it did not exit within 10 s).
gkd_stop()
{
	local i
	[ -n "$GKD_PID" ] || return 1
	kill -TERM "$GKD_PID" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "$GKD_PID" 2>/dev/null; then
			wait "$GKD_PID"
			return $?
		fi
		sleep 0.05
	done
	kill -KILL "$GKD_PID"
	wait "$GKD_PID"
	return 124
}

# gkd_held ROOT: the device files under ROOT/dev the daemon has open, sorted, space-separated.
gkd_held()
{
	local root=$1 fd target
	local -a held=()
	for fd in /proc/"$GKD_PID"/fd/*; do
		target=$(readlink "$fd" 2>/dev/null) || continue
		case "$target" in
		"$root"/dev/*) held+=("${target#"$root"/dev/}") ;;
		esac
	done
	[ ${#held[@]} -eq 0 ] && return 0
	printf '%s\n' "${held[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

# gkd_expect_held DESCRIPTION ROOT "nvidia0 nvidia1 ... nvidiactl": waits up to 5 s for exactly
# that set (sorted as sort(1) does).
gkd_expect_held()
{
	local desc=$1 root=$2 want got i
	# shellcheck disable=SC2086 # split the list into one name per line
	want=$(printf '%s\n' $3 | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
	for ((i = 0; i < 100; i++)); do
		got=$(gkd_held "$root")
		[ "$got" = "$want" ] && break
		sleep 0.05
	done
	if [ "$got" != "$want" ]; then
		echo "# held:     '$got'"
		echo "# expected: '$want'"
	fi
	[ "$got" = "$want" ]
	gk_result $? "$desc"
}

# gkd_all_gpus N: "nvidia0 ... nvidia{N-1}"
gkd_all_gpus()
{
	local i out=""
	for ((i = 0; i < $1; i++)); do
		out="$out nvidia$i"
	done
	echo "$out"
}

# gkd_json_check DESCRIPTION JSON-TEXT PYTHON-EXPR: EXPR over `r` (the parsed JSON) must be true.
gkd_json_check()
{
	local desc=$1 text=$2 expr=$3
	if python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$text" "$expr" 2>/dev/null; then
		gk_result 0 "$desc"
	else
		echo "# $expr is false for: ${text:0:600}"
		gk_result 1 "$desc"
	fi
}
