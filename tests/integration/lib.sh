#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Shared helpers for integration tests: TAP-style results, a scratch directory, fixture builds.
# Sourced by test-*.sh; each test calls gk_done at the end, which sets the exit status.

set -uo pipefail

GK_SOURCE_DIR=${GK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GK_BUILD_DIR=${GK_BUILD_DIR:-$GK_SOURCE_DIR/build}
GPUKEEP=${GPUKEEP:-$GK_BUILD_DIR/src/gpukeep/gpukeep}
MKNODE="$GK_SOURCE_DIR/tests/fixtures/mknode"

gk_n=0
gk_failed=0
GK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/gk-test.XXXXXX")
trap 'gk_cleanup' EXIT

gk_cleanup()
{
	local pids
	pids=$(jobs -p)
	# shellcheck disable=SC2086 # word splitting of the pid list is intended
	[ -n "$pids" ] && kill $pids 2>/dev/null
	wait 2>/dev/null
	rm -rf "$GK_TMP"
}

# ok CONDITION-EXIT-STATUS DESCRIPTION: records one result.
gk_result()
{
	local status=$1
	shift
	gk_n=$((gk_n + 1))
	if [ "$status" -eq 0 ]; then
		echo "ok $gk_n - $*"
	else
		echo "not ok $gk_n - $*"
		gk_failed=$((gk_failed + 1))
	fi
}

# gk_check DESCRIPTION -- COMMAND...: runs COMMAND, records whether it succeeded.
gk_check()
{
	local desc=$1
	shift
	[ "$1" = "--" ] && shift
	"$@"
	gk_result $? "$desc"
}

# gk_expect_exit CODE DESCRIPTION -- COMMAND...: the command must exit with CODE.
gk_expect_exit()
{
	local want=$1 desc=$2 got
	shift 2
	[ "$1" = "--" ] && shift
	"$@" >"$GK_TMP/last.out" 2>"$GK_TMP/last.err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "# expected exit $want, got $got; stderr:" >&2
		sed 's/^/#   /' "$GK_TMP/last.err" >&2
	fi
	gk_result $((got != want)) "$desc (exit $want)"
}

# gk_diff DESCRIPTION EXPECTED-FILE ACTUAL-FILE
gk_diff()
{
	local desc=$1 want=$2 got=$3
	if diff -u "$want" "$got" >"$GK_TMP/diff.out"; then
		gk_result 0 "$desc"
	else
		sed 's/^/# /' "$GK_TMP/diff.out"
		gk_result 1 "$desc"
	fi
}

# gk_fixture NAME: builds fixture node NAME (tests/fixtures/nodes/NAME.json) and prints its root.
gk_fixture()
{
	local root="$GK_TMP/node-$1"
	python3 "$MKNODE" "$GK_SOURCE_DIR/tests/fixtures/nodes/$1.json" "$root" >&2 || return 1
	echo "$root"
}

gk_done()
{
	echo "1..$gk_n"
	echo "# $((gk_n - gk_failed)) passed, $gk_failed failed"
	[ "$gk_failed" -eq 0 ]
	exit $?
}
