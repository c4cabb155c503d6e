# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Shared by the end-to-end scenarios: boots the simulated node through sim/vm/run and prints
# TAP. Sourced, not run. Each scenario boots as few times as it can (about 10 s a boot).

E2E_SRC=${GK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
E2E_BUILD=${GK_BUILD_DIR:-$E2E_SRC/build}
E2E_RUNNER=$E2E_SRC/sim/vm/run
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/gk-e2e.XXXXXX")
trap '[ -n "${E2E_KEEP:-}" ] || rm -rf "$E2E_TMP"' EXIT

e2e_n=0
e2e_failed=0

ok() {
	e2e_n=$((e2e_n + 1))
	echo "ok $e2e_n - $*"
}

not_ok() {
	e2e_n=$((e2e_n + 1))
	e2e_failed=$((e2e_failed + 1))
	echo "not ok $e2e_n - $*"
}

# check DESCRIPTION COMMAND...: one TAP line from COMMAND's exit status.
check() {
	local desc=$1
	shift
	if "$@"; then
		ok "$desc"
	else
		not_ok "$desc"
	fi
}

# Exit 77 (meson's skip) only when this machine cannot run QEMU at all.
e2e_prepare() {
	local rc=0
	"$E2E_RUNNER" --prepare --build-dir "$E2E_BUILD" 2>"$E2E_TMP/prepare.err" || rc=$?
	if [ "$rc" = 77 ]; then
		echo "1..0 # SKIP the simulated node cannot run here: $(tail -1 "$E2E_TMP/prepare.err")"
		exit 77
	fi
	if [ "$rc" != 0 ]; then
		cat "$E2E_TMP/prepare.err" >&2
		echo "Bail out! preparing the simulated node failed (exit $rc)"
		exit 1
	fi
}

# The same for the Debian node (sim/vm/run --userland debian): builds its root and the
# project's packages on first use (root needed; about a minute). Runner options such as
# --slurm (the flavour with Slurm, a root of its own) may follow.
# shellcheck disable=SC2120 # options for the runner, none for most tests
e2e_prepare_debian() {
	local rc=0
	"$E2E_RUNNER" --prepare --userland debian "$@" --build-dir "$E2E_BUILD" 2>"$E2E_TMP/prepare.err" || rc=$?
	if [ "$rc" = 77 ]; then
		echo "1..0 # SKIP the Debian node cannot run here: $(tail -1 "$E2E_TMP/prepare.err")"
		exit 77
	fi
	if [ "$rc" != 0 ]; then
		cat "$E2E_TMP/prepare.err" >&2
		echo "Bail out! preparing the Debian node failed (exit $rc)"
		exit 1
	fi
}

e2e_need_gpukeep() {
	if [ ! -x "$E2E_BUILD/src/gpukeep/gpukeep" ]; then
		echo "Bail out! $E2E_BUILD/src/gpukeep/gpukeep is not built (build the project first)"
		exit 1
	fi
}

# boot NAME [RUNNER OPTIONS...] -- COMMAND: output in $E2E_TMP/NAME.{stdout,stderr,rc},
# the guest's /out in $E2E_TMP/NAME/.
boot() {
	local name=$1 rc=0
	shift
	mkdir -p "$E2E_TMP/$name"
	"$E2E_RUNNER" --build-dir "$E2E_BUILD" --out "$E2E_TMP/$name" \
		--console "$E2E_TMP/$name.console" "$@" \
		>"$E2E_TMP/$name.stdout" 2>"$E2E_TMP/$name.stderr" || rc=$?
	echo "$rc" >"$E2E_TMP/$name.rc"
	echo "# boot $name: exit $rc"
	if [ "$rc" = 124 ] || [ "$rc" = 125 ]; then
		sed 's/^/# /' "$E2E_TMP/$name.stderr"
	fi
	return 0
}

# pcheck NAME DESCRIPTION EXPR: one TAP line from a Python expression evaluated over boot
# NAME's /out, with `out` an e2e.Out (see e2e.py) and `j(file)` its JSON files.
pcheck() {
	local name=$1 desc=$2 expr=$3
	if python3 - "$E2E_SRC/tests/e2e" "$E2E_TMP/$name" "$expr" >"$E2E_TMP/pcheck.log" 2>&1 <<'PY'
import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, sys.argv[1])
from e2e import Out
out = Out(sys.argv[2])
j = out.json
ok = eval(sys.argv[3])
if not ok:
    print("expression was false:", sys.argv[3])
sys.exit(0 if ok else 1)
PY
	then
		ok "$desc"
	else
		not_ok "$desc"
		sed 's/^/#   /' "$E2E_TMP/pcheck.log"
	fi
}

same() {
	[ "$1" = "$2" ] || {
		echo "#   got '$1', expected '$2'"
		return 1
	}
}

e2e_done() {
	echo "1..$e2e_n"
	if [ "$e2e_failed" -gt 0 ]; then
		echo "# $e2e_failed of $e2e_n checks failed"
		exit 1
	fi
	exit 0
}
