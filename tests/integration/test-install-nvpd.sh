#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# init/install.sh and NVIDIA's nvidia-persistenced, with a stand-in systemctl and initctl that
# log what they are asked: a running nvidia-persistenced makes the installer stop, change
# nothing and offer --replace-nvidia-persistenced; with it, NVIDIA's service is stopped,
# disabled and masked before gpukeepd starts; --uninstall --restore-nvidia-persistenced goes
# back. Run as --dry-run (the plan) and, where the staging allows, for real on the stand-ins.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

INSTALL=$GK_SOURCE_DIR/init/install.sh
FAKE=$GK_TMP/bin
LOG=$GK_TMP/calls.log
mkdir -p "$FAKE"
# systemctl/initctl stand-ins: NVPD_STATE=running|stopped|absent says what NVIDIA's service is.
cat >"$FAKE/systemctl" <<'SH'
#!/bin/sh
echo "systemctl $*" >>"$CALLS_LOG"
case "$1 ${2:-}" in
"cat nvidia-persistenced.service") [ "$NVPD_STATE" != absent ] ;;
"is-active --quiet") [ "$NVPD_STATE" = running ] ;;
*) exit 0 ;;
esac
SH
chmod +x "$FAKE/systemctl"
export CALLS_LOG=$LOG

run()
{
	: >"$LOG"
	env PATH="$FAKE:$PATH" NVPD_STATE="$1" "$INSTALL" "${@:2}" >"$GK_TMP/out" 2>&1
}

if [ "$(id -u)" -ne 0 ]; then
	gk_result 0 "# SKIP the live install plan needs root (the installer refuses otherwise)"
	gk_done
fi
SB=(--sbindir "$(dirname "${GPUKEEPD:-$GK_BUILD_DIR/src/gpukeepd/gpukeepd}")")

run running --dry-run "${SB[@]}" systemd
gk_result $(($? != 3)) "nvidia-persistenced running: exit 3"
gk_check "... offering --replace-nvidia-persistenced" -- grep -q -- "--replace-nvidia-persistenced" \
	"$GK_TMP/out"
gk_check "... having changed nothing" -- test ! -s "$LOG" -o "$(grep -cvE ' (cat|is-active) ' "$LOG")" = 0

run running --dry-run --replace-nvidia-persistenced "${SB[@]}" systemd
gk_result $? "--replace-nvidia-persistenced: the plan"
gk_check "... stops NVIDIA's unit" -- grep -q "stop nvidia-persistenced.service" "$GK_TMP/out"
gk_check "... disables it" -- grep -q "disable nvidia-persistenced.service" "$GK_TMP/out"
gk_check "... masks it" -- grep -q "mask nvidia-persistenced.service" "$GK_TMP/out"
gk_check "... before gpukeepd is installed" -- test \
	"$(grep -n 'mask nvidia' "$GK_TMP/out" | cut -d: -f1)" -lt \
	"$(grep -n 'install gpukeepd.service' "$GK_TMP/out" | cut -d: -f1)"

run stopped --dry-run "${SB[@]}" systemd
gk_result $? "nvidia-persistenced installed but stopped: installs"
gk_check "... with a note" -- grep -q "installed but not running" "$GK_TMP/out"

run absent --dry-run --replace-nvidia-persistenced "${SB[@]}" systemd
gk_result $? "no nvidia-persistenced: nothing to replace"
gk_check "... says so" -- grep -q "nothing to replace" "$GK_TMP/out"

run stopped --dry-run --uninstall --restore-nvidia-persistenced systemd
gk_result $? "--uninstall --restore-nvidia-persistenced: the plan"
gk_check "... unmasks, enables and starts NVIDIA's unit" -- sh -c \
	"grep -q 'unmask nvidia-persistenced' '$GK_TMP/out' && grep -q 'enable nvidia-persistenced' '$GK_TMP/out' && grep -q 'start nvidia-persistenced' '$GK_TMP/out'"
gk_expect_exit 2 "--restore-nvidia-persistenced without --uninstall" -- "$INSTALL" \
	--restore-nvidia-persistenced systemd

# SysV and Upstart: found by their files under PROBE_ROOT.
P=$GK_TMP/probe
mkdir -p "$P/etc/init.d" "$P/etc/init"
printf '#!/bin/sh\n' >"$P/etc/init.d/nvidia-persistenced"
chmod +x "$P/etc/init.d/nvidia-persistenced"
: >"$P/etc/init/nvidia-persistenced.conf"
mkdir -p "$P/var/run/nvidia-persistenced"
echo $$ >"$P/var/run/nvidia-persistenced/nvidia-persistenced.pid" # a live pid: "running"
env PROBE_ROOT="$P" "$INSTALL" --dry-run "${SB[@]}" sysv >"$GK_TMP/out" 2>&1
gk_result $(($? != 3)) "sysv: nvidia-persistenced running (pid file): exit 3"
env PROBE_ROOT="$P" "$INSTALL" --dry-run --replace-nvidia-persistenced "${SB[@]}" sysv \
	>"$GK_TMP/out" 2>&1
gk_result $? "sysv: the replace plan"
gk_check "... stops and disables it" -- sh -c "grep -q 'stop nvidia-persistenced' '$GK_TMP/out' && grep -q 'disable nvidia-persistenced' '$GK_TMP/out'"
env PATH="$FAKE:$PATH" PROBE_ROOT="$P" "$INSTALL" --dry-run --replace-nvidia-persistenced \
	"${SB[@]}" upstart >"$GK_TMP/out" 2>&1
gk_result $? "upstart: the replace plan"
gk_check "... stops it and writes its override" -- grep -q "nvidia-persistenced.override: manual" \
	"$GK_TMP/out"
gk_done
