#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# nvidia-persistenced's command line on gpukeepd: every option of its table, "--opt value" and
# "--opt=value", short forms and --no- forms, --nvidia-cfg-path accepted and logged; started
# under the name nvidia-persistenced it returns once it serves (what Type=forking units and
# NVIDIA's init scripts expect), in its own session, with the pid file beside the RPC socket.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/gkd-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/gkd-lib.sh"
# shellcheck source=tests/integration/nvpd-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/nvpd-lib.sh"

# check_config DESCRIPTION REGEX OPTIONS...: gpukeepd --check with OPTIONS prints a line matching.
check_config()
{
	local desc=$1 re=$2
	shift 2
	"$GPUKEEPD" --check "$@" >"$GK_TMP/check.out" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] || ! grep -qE "$re" "$GK_TMP/check.out"; then
		echo "# gpukeepd --check $*: exit $rc, no line matching '$re':"
		sed 's/^/#   /' "$GK_TMP/check.out"
		gk_result 1 "$desc"
		return
	fi
	gk_result 0 "$desc"
}

ME=$(id -un)
check_config "--user USER" "^user +$ME " --user "$ME"
check_config "--user=USER" "^user +$ME " --user="$ME"
check_config "-u USER" "^user +$ME " -u "$ME"
check_config "--group=GROUP" "^group +$(id -gn) " --group="$(id -gn)"
check_config "-g GROUP" "^group +$(id -gn) " -g "$(id -gn)"
check_config "--no-persistence-mode" "^persistence-mode +off" --no-persistence-mode
check_config "--persistence-mode after --no-" "^persistence-mode +on" --no-persistence-mode \
	--persistence-mode
check_config "--uvm-persistence-mode" "^uvm-persistence-mode +on" --uvm-persistence-mode
check_config "--no-uvm-persistence-mode" "^uvm-persistence-mode +off" --uvm-persistence-mode \
	--no-uvm-persistence-mode
check_config "--nvidia-cfg-path PATH" "^nvidia-cfg-path +/usr/lib/nvidia \(accepted" \
	--nvidia-cfg-path /usr/lib/nvidia
check_config "--nvidia-cfg-path=PATH" "^nvidia-cfg-path +/opt/x \(accepted" --nvidia-cfg-path=/opt/x
check_config "-V" "^logging +.*verbose" -V
check_config "--verbose" "^logging +.*verbose" --verbose
check_config "--nvpd-socket PATH" "^nvpd-socket +/tmp/x/socket" --nvpd-socket /tmp/x/socket
check_config "--nvpd-socket=PATH" "^nvpd-socket +/tmp/y/socket" --nvpd-socket=/tmp/y/socket
check_config "the RPC socket is on by default" "^nvpd-socket +/var/run/nvidia-persistenced/socket"
check_config "... a warning if it cannot be served" "^nvpd-socket +.*\(a warning if"
check_config "... fatal when asked for" "^nvpd-socket +/tmp/x/socket \(failing to serve it is fatal" \
	--nvpd-socket /tmp/x/socket
check_config "... fatal in nvidia-persistenced's mode" "^nvpd-socket +.*\(failing to serve" --nvpd-compat
check_config "--no-nvpd-socket" "^nvpd-socket +\(not served\)" --no-nvpd-socket
check_config "... off by default under --root" "^nvpd-socket +\(not served\)" --root /tmp
check_config "--nvpd-compat: the pid file beside the socket" \
	"^pid-file +/var/run/nvidia-persistenced/nvidia-persistenced.pid" --nvpd-compat
check_config "NVIDIA's unit's whole command line" "^user +$ME " --user "$ME" --persistence-mode \
	--no-uvm-persistence-mode --nvidia-cfg-path=/usr/lib/x86_64-linux-gnu --verbose
gk_expect_exit 0 "-v prints the version" -- "$GPUKEEPD" -v
gk_expect_exit 0 "-h prints the help" -- "$GPUKEEPD" -h
gk_check "... which lists --nvidia-cfg-path and --nvpd-socket" -- grep -q -- '--nvpd-socket' \
	"$GK_TMP/last.out"
gk_expect_exit 2 "--user without its argument is a usage error" -- "$GPUKEEPD" --check --user
gk_expect_exit 2 "an unknown option is a usage error" -- "$GPUKEEPD" --check --frobnicate
gk_expect_exit 2 "--nvpd-socket must be absolute" -- "$GPUKEEPD" --check --nvpd-socket rel/socket

if [ "$(id -u)" -ne 0 ]; then
	gk_result 0 "# SKIP starting as nvidia-persistenced needs root (--user, chown)"
	gk_done
fi
ROOT=$(gkd_root hgx-8gpu)
mkdir -p "$GK_TMP/bin"
ln -s "$GPUKEEPD" "$GK_TMP/bin/nvidia-persistenced"
# The daemon makes its own directories for its user (an existing root-owned one is refused).
rm -rf "$GK_TMP/nvpd" "$GK_TMP/run" "$GK_TMP/state"
PIDFILE=$GK_TMP/nvpd/nvidia-persistenced.pid
# NVIDIA's own command line, plus where the test keeps its files.
"$GK_TMP/bin/nvidia-persistenced" --user nobody --persistence-mode --no-uvm-persistence-mode \
	--nvidia-cfg-path=/usr/lib/x86_64-linux-gnu --verbose \
	--root "$ROOT" --runtime-dir "$GK_TMP/run" --state-dir "$GK_TMP/state" \
	--nvpd-socket "$NVPD_SOCK" </dev/null >"$GK_TMP/start.out" 2>&1
gk_result $? "started as nvidia-persistenced with its command line: returns 0 once serving"
DPID=$(cat "$PIDFILE" 2>/dev/null)
gk_check "the pid file beside the RPC socket names a live daemon" -- kill -0 "${DPID:-0}"
GKD_PID=$DPID
np_expect "... which answers a get at once" "status 0 mode 1" get 0000:18:00.0
np_expect "... and a set" "status 0" set 1 0000:18:00.0 0
gkd_expect_held "... releasing nvidia0" "$ROOT" "$(gkd_all_gpus 8 | sed 's/ nvidia0//') nvidiactl"
gk_check "it runs in a session of its own" -- test "$(ps -o sid= -p "$DPID" | tr -d ' ')" = "$DPID"
gk_check "it dropped to nobody" -- grep -qE '^Uid:\s+65534\s' "/proc/$DPID/status"
gk_check "nothing on the starter's stderr" -- test ! -s "$GK_TMP/start.out"
"$GK_TMP/bin/nvidia-persistenced" --root "$ROOT" --runtime-dir "$GK_TMP/run" \
	--state-dir "$GK_TMP/state" --nvpd-socket "$NVPD_SOCK" >"$GK_TMP/second.out" 2>&1
gk_result $((! $?)) "a second instance fails (exit 1)"
gk_check "... saying so on stderr" -- grep -q "failed to start" "$GK_TMP/second.out"
np_expect "... and the first still serves" "status 0 mode 0" get 0000:18:00.0
kill -TERM "$DPID"
for _ in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
gk_check "SIGTERM stops it" -- test ! -e "/proc/$DPID"
gk_check "pid file and RPC socket removed" -- test ! -e "$PIDFILE" -a ! -e "$NVPD_SOCK"
gk_done
