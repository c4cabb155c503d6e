#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for the RPC socket's tests, sourced after gkd-lib.sh: the probe client built from
# nvpd.x (tests/helpers/nvpd-probe.c) and checks on its one-line answers.

NVPD_PROBE=${NVPD_PROBE:-$GK_BUILD_DIR/tests/helpers/nvpd-probe}
NVPD_SOCK=$GK_TMP/nvpd/socket

# np ARGS...: the probe on $NVPD_SOCK ("--auth-sys-root" may come first).
np()
{
	if [ "${1:-}" = "--auth-sys-root" ]; then
		shift
		"$NVPD_PROBE" --auth-sys-root "$NVPD_SOCK" "$@"
	else
		"$NVPD_PROBE" "$NVPD_SOCK" "$@"
	fi
}

# np_expect DESCRIPTION "EXPECTED LINE" [--as-nobody] ARGS...: the probe's output must be exactly it.
np_expect()
{
	local desc=$1 want=$2 got
	shift 2
	if [ "${1:-}" = "--as-nobody" ]; then
		shift
		got=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
			env NVPD_PROBE="$NVPD_PROBE" NVPD_SOCK="$NVPD_SOCK" bash -c \
			"$(declare -f np); np \"\$@\"" np "$@" 2>&1)
	else
		got=$(np "$@" 2>&1)
	fi
	if [ "$got" != "$want" ]; then
		echo "# nvpd-probe $*: got '$got', expected '$want'"
	fi
	[ "$got" = "$want" ]
	gk_result $? "$desc"
}
