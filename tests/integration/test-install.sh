#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# init/install.sh into a DESTDIR for each init system: the right file in the right place with the
# user, group and path filled in, the system user and group created in the staging tree's
# account files, --dry-run changes nothing, a failed step is undone, --uninstall removes what
# was installed, and detection picks the init system a (fake) root runs. gpukeep watch's service
# file goes beside gpukeepd's, not enabled unless --enable-watch. The service files themselves:
# the SysV scripts pass shellcheck, the units systemd-analyze, and the SysV scripts start and
# stop the real daemon and the real watcher.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/gkd-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/gkd-lib.sh"

INSTALL=$GK_SOURCE_DIR/init/install.sh
SBIN=$(dirname "$GPUKEEPD")

# stage NAME: a staging tree with copies of the build machine's account files.
stage()
{
	local d=$GK_TMP/$1
	mkdir -p "$d/etc"
	cp /etc/passwd /etc/group "$d/etc/"
	[ -r /etc/shadow ] && cp /etc/shadow /etc/gshadow "$d/etc/"
	echo "$d"
}

have_useradd()
{
	[ "$(id -u)" -eq 0 ] && command -v useradd >/dev/null && command -v groupadd >/dev/null
}

check_init()
{
	local init=$1 path=$2 mode=$3 wpath=$4 d
	d=$(stage "$init")
	gk_expect_exit 0 "$init: install into DESTDIR" -- env DESTDIR="$d" "$INSTALL" \
		--sbindir /opt/gk/sbin --user gkd-test --group gkd-grp "$init"
	gk_check "$init: $path installed" -- test -f "$d$path"
	gk_check "$init: mode $mode" -- test "$(stat -c %a "$d$path")" = "$mode"
	gk_check "$init: sbindir, user and group filled in" -- bash -c "grep -q /opt/gk/sbin/gpukeepd \
		'$d$path' && grep -q gkd-test '$d$path' && grep -q gkd-grp '$d$path'"
	gk_check "$init: no placeholder left" -- bash -c "! grep -q '@[A-Z]*@' '$d$path'"
	gk_check "$init: ... said to be not enabled" -- \
		grep -q 'gpukeep-watch is installed, not enabled' "$GK_TMP/last.out"
	gk_check "$init: the watcher's $wpath installed beside it, mode $mode" -- \
		test "$(stat -c %a "$d$wpath")" = "$mode"
	gk_check "$init: ... running gpukeep from SBINDIR's sibling bin" -- \
		grep -q '/opt/gk/bin/gpukeep' "$d$wpath"
	gk_check "$init: ... no placeholder left" -- bash -c "! grep -q '@[A-Z]*@' '$d$wpath'"
	if [ "$init" = upstart ]; then
		gk_check "upstart: ... kept from starting on its events (override: manual)" -- \
			test "$(cat "$d/etc/init/gpukeep-watch.override")" = manual
	fi
	if have_useradd; then
		gk_check "$init: system group created in DESTDIR" -- grep -q '^gkd-grp:' "$d/etc/group"
		gk_check "$init: system user created in DESTDIR, no login" -- grep -qE \
			'^gkd-test:x:[0-9]+:[0-9]+:gpukeep persistence daemon:/:/usr/sbin/nologin$' \
			"$d/etc/passwd"
		gk_check "$init: the build machine's accounts untouched" -- \
			bash -c '! getent passwd gkd-test >/dev/null'
	else
		gk_result 0 "# SKIP $init: account creation needs root and useradd"
	fi
	gk_expect_exit 0 "$init: installing again backs up the old file" -- env DESTDIR="$d" \
		"$INSTALL" --sbindir /opt/gk/sbin --user gkd-test --group gkd-grp "$init"
	gk_check "$init: backup kept" -- test -f "$d$path.bak"
	gk_expect_exit 0 "$init: uninstall" -- env DESTDIR="$d" "$INSTALL" --uninstall \
		--remove-user --user gkd-test --group gkd-grp "$init"
	gk_check "$init: file removed" -- test ! -e "$d$path"
	gk_check "$init: the watcher's file removed too" -- test ! -e "$d$wpath"
	[ "$init" != upstart ] || gk_check "upstart: ... and its override" -- \
		test ! -e "$d/etc/init/gpukeep-watch.override"
	if have_useradd; then
		gk_check "$init: user and group removed" -- bash -c \
			"! grep -q '^gkd-test:' '$d/etc/passwd' && ! grep -q '^gkd-grp:' '$d/etc/group'"
	fi
}

check_init systemd /etc/systemd/system/gpukeepd.service 644 /etc/systemd/system/gpukeep-watch.service
check_init sysv /etc/init.d/gpukeepd 755 /etc/init.d/gpukeep-watch
check_init upstart /etc/init/gpukeepd.conf 644 /etc/init/gpukeep-watch.conf

# the watcher: --no-watch, --bindir, --enable-watch
D=$(stage nowatch)
gk_expect_exit 0 "--no-watch" -- env DESTDIR="$D" "$INSTALL" --no-watch systemd
gk_check "... installs gpukeepd's unit only" -- bash -c \
	"test -f '$D/etc/systemd/system/gpukeepd.service' && test ! -e '$D/etc/systemd/system/gpukeep-watch.service'"
D=$(stage bindir)
gk_expect_exit 0 "--bindir --enable-watch (upstart)" -- env DESTDIR="$D" "$INSTALL" \
	--bindir /opt/x/bin --enable-watch upstart
gk_check "... the watcher runs gpukeep from --bindir" -- \
	grep -q 'exec /opt/x/bin/gpukeep watch' "$D/etc/init/gpukeep-watch.conf"
gk_check "... and is left to start on its events (no override)" -- \
	test ! -e "$D/etc/init/gpukeep-watch.override"
gk_expect_exit 2 "--enable-watch with --no-watch" -- "$INSTALL" --no-watch --enable-watch --dry-run systemd

# --dry-run changes nothing
D=$(stage dry)
cp -a "$D" "$GK_TMP/dry.before"
gk_expect_exit 0 "--dry-run" -- env DESTDIR="$D" "$INSTALL" --dry-run systemd
gk_check "--dry-run prints the plan" -- grep -q 'install gpukeepd.service as' "$GK_TMP/last.out"
gk_check "... the watcher's unit in it" -- grep -q 'install gpukeep-watch.service as' "$GK_TMP/last.out"
gk_check "--dry-run changes nothing" -- diff -r "$GK_TMP/dry.before" "$D"

# a failed step undoes the completed ones
if have_useradd; then
	D=$(stage fail)
	mkdir -p "$D/etc/systemd"
	: >"$D/etc/systemd/system" # a file where the directory must go: the install step fails
	gk_expect_exit 1 "a failing step fails the install" -- env DESTDIR="$D" "$INSTALL" \
		--user gkd-undo systemd
	gk_check "... and says so" -- grep -q 'failed: install' "$GK_TMP/last.err"
	gk_check "... the user created before it is removed again" -- bash -c \
		"! grep -q '^gkd-undo:' '$D/etc/passwd' && ! grep -q '^gkd-undo:' '$D/etc/group'"
fi

# usage
gk_expect_exit 2 "unknown option" -- "$INSTALL" --bogus
gk_expect_exit 2 "unknown init system" -- "$INSTALL" openrc
gk_expect_exit 2 "bad user name" -- "$INSTALL" --user 'a;b' --dry-run systemd
gk_expect_exit 0 "--help" -- "$INSTALL" --help

# detection of the running init system, on fake roots
detect()
{
	env PROBE_ROOT="$1" DESTDIR="$GK_TMP/detect-dest" "$INSTALL" --dry-run 2>&1 |
		sed -n 's/^install.sh: detected init system: //p'
}
P=$GK_TMP/probe
mkdir -p "$P/sd/run/systemd/system" "$P/sd/etc/init.d" "$P/up/etc/init" "$P/up/sbin" \
	"$P/up/etc/init.d" "$P/sysv/etc/init.d" "$P/none"
printf '#!/bin/sh\n' >"$P/up/sbin/initctl"
chmod +x "$P/up/sbin/initctl"
gk_check "detects systemd" -- test "$(detect "$P/sd")" = systemd
gk_check "detects upstart" -- test "$(detect "$P/up")" = upstart
gk_check "detects sysv" -- test "$(detect "$P/sysv")" = sysv
gk_expect_exit 3 "no init system: refuses" -- env PROBE_ROOT="$P/none" DESTDIR="$GK_TMP/x" \
	"$INSTALL" --dry-run

# the service files themselves
if command -v shellcheck >/dev/null; then
	gk_check "shellcheck: install.sh and the SysV scripts" -- shellcheck \
		"$INSTALL" "$GK_SOURCE_DIR/init/gpukeepd.sysv" "$GK_SOURCE_DIR/init/gpukeep-watch.sysv"
else
	gk_result 0 "# SKIP shellcheck not installed"
fi
if command -v systemd-analyze >/dev/null; then
	D=$GK_TMP/unit
	env DESTDIR="$D" "$INSTALL" --sbindir "$SBIN" --bindir "$(dirname "$GPUKEEP")" systemd \
		>/dev/null
	gk_check "systemd-analyze verify accepts the unit" -- systemd-analyze verify --man=no \
		"$D/etc/systemd/system/gpukeepd.service"
	gk_check "systemd-analyze verify accepts the watcher's unit" -- systemd-analyze verify \
		--man=no "$D/etc/systemd/system/gpukeep-watch.service"
else
	gk_result 0 "# SKIP systemd-analyze not installed"
fi

# gpukeepd's device policy: closed, the NVIDIA groups by name (nvidia-uvm's major is dynamic),
# after modules-load.d's modules (systemd resolves the names at start), no NVSwitch files
gk_check "the unit allows exactly char-nvidia-frontend and char-nvidia-uvm, by name" -- \
	python3 - "$GK_SOURCE_DIR/init/gpukeepd.service" <<'EOF'
import sys
kv = [l.strip().split("=", 1) for l in open(sys.argv[1]) if "=" in l and not l.startswith("#")]
allow = sorted(v for k, v in kv if k == "DeviceAllow")
assert ("DevicePolicy", "closed") in [tuple(x) for x in kv], kv
assert allow == ["char-nvidia-frontend rw", "char-nvidia-uvm rw"], allow
after = " ".join(v for k, v in kv if k == "After").split()
assert "systemd-modules-load.service" in after, kv
assert [v for k, v in kv if k == "Conflicts"] == ["nvidia-persistenced.service"], kv
EOF

# The SysV script runs the real daemon (as root, on a fixture root).
if [ "$(id -u)" -eq 0 ]; then
	ROOT=$(gkd_root hgx-8gpu)
	D=$GK_TMP/sysv-run
	env DESTDIR="$D" "$INSTALL" --sbindir "$SBIN" --user nobody --group nogroup sysv >/dev/null
	export GKD_RUNTIME=$GK_TMP/sysv-runtime
	export GKD_OPTS="--root $ROOT --state-dir $GK_TMP/sysv-state"
	SCRIPT=$D/etc/init.d/gpukeepd
	gk_expect_exit 0 "sysv: start" -- "$SCRIPT" start
	gk_expect_exit 0 "sysv: status (running)" -- "$SCRIPT" status
	GKD_PID=$(cat "$GKD_RUNTIME/gpukeepd.pid")
	gkd_expect_held "sysv: the daemon holds every GPU" "$ROOT" "$(gkd_all_gpus 8) nvidiactl"
	gk_check "sysv: it runs as nobody" -- grep -qE '^Uid:\s+65534\s' "/proc/$GKD_PID/status"
	gk_expect_exit 0 "sysv: start again is a no-op" -- "$SCRIPT" start
	gk_check "... saying it already runs" -- grep -q 'already running' "$GK_TMP/last.out"
	gk_expect_exit 0 "sysv: reload (SIGHUP)" -- "$SCRIPT" reload
	gk_expect_exit 0 "sysv: stop" -- "$SCRIPT" stop
	gk_check "sysv: the daemon is gone" -- bash -c "! kill -0 $GKD_PID 2>/dev/null"
	gk_check "sysv: runtime directory removed" -- test ! -e "$GKD_RUNTIME"
	gk_expect_exit 3 "sysv: status (stopped)" -- "$SCRIPT" status

	# the watcher's script, on a fixture kernel log, its settings from GKW_DEFAULTS
	env DESTDIR="$D" "$INSTALL" --sbindir "$SBIN" --bindir "$(dirname "$GPUKEEP")" sysv \
		>/dev/null
	W=$D/etc/init.d/gpukeep-watch
	: >"$GK_TMP/watch.kmsg"
	echo '{}' >"$GK_TMP/watch.json"
	cat >"$GK_TMP/watch.defaults" <<EOF
GPUKEEP_WATCH_OPTS="--kmsg $GK_TMP/watch.kmsg --state-dir $GK_TMP/watch-state --catalog $GK_SOURCE_DIR/data/xid-catalog.json --config $GK_TMP/watch.json"
EOF
	export GKW_PIDFILE=$GK_TMP/gpukeep-watch.pid GKW_DEFAULTS=$GK_TMP/watch.defaults
	gk_expect_exit 0 "sysv watch: start" -- "$W" start
	gk_expect_exit 0 "sysv watch: status (running)" -- "$W" status
	WPID=$(cat "$GKW_PIDFILE")
	gk_check "sysv watch: the watcher runs, observing (the default mode)" -- bash -c \
		"tr '\\0' ' ' </proc/$WPID/cmdline | grep -q '^$GPUKEEP watch --observe --kmsg '"
	gk_expect_exit 0 "sysv watch: start again is a no-op" -- "$W" start
	gk_check "... saying it already runs" -- grep -q 'already running' "$GK_TMP/last.out"
	gk_expect_exit 0 "sysv watch: stop" -- "$W" stop
	gk_check "sysv watch: the watcher is gone" -- bash -c "! kill -0 $WPID 2>/dev/null"
	gk_expect_exit 3 "sysv watch: status (stopped)" -- "$W" status
	unset GKW_PIDFILE GKW_DEFAULTS
else
	gk_result 0 "# SKIP running the SysV scripts needs root"
fi

gk_done
