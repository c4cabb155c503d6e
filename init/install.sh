#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs gpukeepd's service file for the running init system (systemd, Upstart or SysV),
# creating the daemon's system user and group if missing, then enables and starts it. The
# watcher's service file (gpukeep watch, the remediation ladder) is installed beside it for the
# same init system but not enabled: it runs as root and may reset GPUs, reload the driver and
# reboot once switched to --act, so an operator turns it on (--enable-watch, or later).
# Every step is printed; --dry-run prints only. A failed step undoes the completed ones in
# reverse. DESTDIR installs into a staging tree: accounts go into $DESTDIR/etc when it has a
# passwd file, and nothing is enabled or started. gpukeepd serves nvidia-persistenced's RPC
# socket, so the two cannot run side by side: --replace-nvidia-persistenced stops, disables and
# masks NVIDIA's service first; --uninstall --restore-nvidia-persistenced goes back.
set -eu

usage()
{
	cat <<EOF
usage: install.sh [OPTIONS] [systemd|upstart|sysv]

  -n, --dry-run      print the steps, change nothing
  -u, --uninstall    stop and disable the service, remove its file
      --remove-user  with --uninstall: also delete the user and group
      --user USER    the daemon's user (default gpukeep)
      --group GROUP  the daemon's group, whose members may change persistence (default: USER)
      --sbindir DIR  where gpukeepd is installed (default /usr/sbin)
      --bindir DIR   where gpukeep is installed (default: SBINDIR's sibling bin, /usr/bin)
      --no-start     install and enable, but do not start
      --no-watch     do not install gpukeep watch's service file
      --enable-watch also enable and start gpukeep watch's service (observe mode unless
                     /etc/default/gpukeep-watch sets GPUKEEP_WATCH_MODE=--act)
      --replace-nvidia-persistenced
                     stop NVIDIA's nvidia-persistenced, disable and mask it, and start
                     gpukeepd in its place (it serves the same RPC socket)
      --restore-nvidia-persistenced
                     with --uninstall: unmask, enable and start nvidia-persistenced again
  -h, --help         show this help

The init system is detected unless named: systemd when /run/systemd/system exists, Upstart
when initctl reports upstart, else SysV when /etc/init.d exists.
Environment: DESTDIR (staging root), PROBE_ROOT (where detection looks; for tests).
exit codes: 0 done, 1 a step failed (completed steps undone), 2 usage, 3 precondition failed
EOF
}

DRY_RUN=0
UNINSTALL=0
REMOVE_USER=0
START=1
REPLACE_NVPD=0
RESTORE_NVPD=0
GK_USER=gpukeep
GK_GROUP=
SBINDIR=/usr/sbin
BINDIR=
WATCH=1
ENABLE_WATCH=0
INIT=
DESTDIR=${DESTDIR:-}
PROBE_ROOT=${PROBE_ROOT:-}
SRCDIR=$(cd "$(dirname "$0")" && pwd)
UNDO=

die_usage()
{
	echo "install.sh: $1; try 'install.sh --help'" >&2
	exit 2
}

need_arg()
{
	if [ $# -lt 2 ] || [ -z "$2" ]; then
		die_usage "$1 needs an argument"
	fi
}

while [ $# -gt 0 ]; do
	case "$1" in
	-n | --dry-run) DRY_RUN=1 ;;
	-u | --uninstall) UNINSTALL=1 ;;
	--remove-user) REMOVE_USER=1 ;;
	--no-start) START=0 ;;
	--no-watch) WATCH=0 ;;
	--enable-watch) ENABLE_WATCH=1 ;;
	--replace-nvidia-persistenced) REPLACE_NVPD=1 ;;
	--restore-nvidia-persistenced) RESTORE_NVPD=1 ;;
	--user)
		need_arg "$@"
		GK_USER=$2
		shift
		;;
	--group)
		need_arg "$@"
		GK_GROUP=$2
		shift
		;;
	--sbindir)
		need_arg "$@"
		SBINDIR=$2
		shift
		;;
	--bindir)
		need_arg "$@"
		BINDIR=$2
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	systemd | upstart | sysv) INIT=$1 ;;
	*) die_usage "unknown argument '$1'" ;;
	esac
	shift
done
GK_GROUP=${GK_GROUP:-$GK_USER}
BINDIR=${BINDIR:-${SBINDIR%/sbin}/bin}
case "$GK_USER$GK_GROUP" in
*[!a-z0-9_-]*) die_usage "user and group names are [a-z0-9_-]" ;;
esac
[ "$REMOVE_USER" -eq 0 ] || [ "$UNINSTALL" -eq 1 ] || die_usage "--remove-user needs --uninstall"
[ "$RESTORE_NVPD" -eq 0 ] || [ "$UNINSTALL" -eq 1 ] ||
	die_usage "--restore-nvidia-persistenced needs --uninstall"
[ "$REPLACE_NVPD" -eq 0 ] || [ "$UNINSTALL" -eq 0 ] ||
	die_usage "--replace-nvidia-persistenced is for installing"
[ "$ENABLE_WATCH" -eq 0 ] || [ "$WATCH" -eq 1 ] || die_usage "--enable-watch needs the watch"

# step DESCRIPTION UNDO-COMMAND COMMAND...: prints and runs COMMAND, remembers its undo.
step()
{
	desc=$1
	undo=$2
	shift 2
	echo "install.sh: $desc"
	[ "$DRY_RUN" -eq 1 ] && return 0
	if ! "$@"; then
		echo "install.sh: failed: $desc" >&2
		rollback
		exit 1
	fi
	[ -n "$undo" ] && UNDO="$undo
$UNDO"
	return 0
}

rollback()
{
	[ -n "$UNDO" ] || return 0
	echo "install.sh: undoing the completed steps" >&2
	echo "$UNDO" | while IFS= read -r cmd; do
		[ -n "$cmd" ] || continue
		echo "install.sh: undo: $cmd" >&2
		sh -c "$cmd" || echo "install.sh: undo failed: $cmd" >&2
	done
}

detect_init()
{
	if [ -d "$PROBE_ROOT/run/systemd/system" ]; then
		echo systemd
	elif [ -z "$PROBE_ROOT" ] && command -v initctl >/dev/null 2>&1 &&
		initctl version 2>/dev/null | grep -q upstart; then
		echo upstart
	elif [ -n "$PROBE_ROOT" ] && [ -x "$PROBE_ROOT/sbin/initctl" ] &&
		[ -d "$PROBE_ROOT/etc/init" ]; then
		echo upstart
	elif [ -d "$PROBE_ROOT/etc/init.d" ]; then
		echo sysv
	else
		return 1
	fi
}

if [ -z "$INIT" ]; then
	INIT=$(detect_init) || {
		echo "install.sh: no supported init system found (systemd, Upstart, SysV);" \
			"name one" >&2
		exit 3
	}
	echo "install.sh: detected init system: $INIT"
fi

# dest NAME: where NAME's service file goes for this init system.
dest()
{
	case "$INIT" in
	systemd) echo "/etc/systemd/system/$1.service" ;;
	upstart) echo "/etc/init/$1.conf" ;;
	sysv) echo "/etc/init.d/$1" ;;
	esac
}

case "$INIT" in
systemd) SUFFIX=service MODE=0644 ;;
upstart) SUFFIX=upstart MODE=0644 ;;
sysv) SUFFIX=sysv MODE=0755 ;;
esac
SRC=gpukeepd.$SUFFIX
DEST=$(dest gpukeepd)
TARGET=$DESTDIR$DEST
WSRC=gpukeep-watch.$SUFFIX
WDEST=$(dest gpukeep-watch)
WTARGET=$DESTDIR$WDEST
# Upstart starts every job in /etc/init on its events: "manual" in its override is "not enabled".
WOVERRIDE=$DESTDIR/etc/init/gpukeep-watch.override
# Accounts and services are the live system's only without DESTDIR.
LIVE=1
[ -z "$DESTDIR" ] || LIVE=0

if [ "$LIVE" -eq 1 ] && [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
	echo "install.sh: needs root (or DESTDIR, or --dry-run)" >&2
	exit 3
fi

# Account tools act on $DESTDIR/etc when staging into a tree that has account files.
ACCT_PREFIX=
if [ "$LIVE" -eq 0 ]; then
	[ -f "$DESTDIR/etc/passwd" ] && ACCT_PREFIX=$DESTDIR
fi

group_exists()
{
	if [ -n "$ACCT_PREFIX" ]; then
		grep -q "^$1:" "$ACCT_PREFIX/etc/group"
	else
		getent group "$1" >/dev/null
	fi
}

user_exists()
{
	if [ -n "$ACCT_PREFIX" ]; then
		grep -q "^$1:" "$ACCT_PREFIX/etc/passwd"
	else
		getent passwd "$1" >/dev/null
	fi
}

prefix_opt()
{
	[ -z "$ACCT_PREFIX" ] || printf '%s\n' "--prefix" "$ACCT_PREFIX"
}

create_accounts()
{
	if [ "$LIVE" -eq 0 ] && [ -z "$ACCT_PREFIX" ]; then
		echo "install.sh: DESTDIR has no etc/passwd: create user $GK_USER and group" \
			"$GK_GROUP on the target"
		return 0
	fi
	# shellcheck disable=SC2046 # prefix_opt prints zero or two words
	if ! group_exists "$GK_GROUP"; then
		step "create system group $GK_GROUP" "groupdel $(prefix_opt | tr '\n' ' ')$GK_GROUP" \
			groupadd --system $(prefix_opt) "$GK_GROUP"
	fi
	# shellcheck disable=SC2046
	if ! user_exists "$GK_USER"; then
		step "create system user $GK_USER (group $GK_GROUP, no login, no home)" \
			"userdel $(prefix_opt | tr '\n' ' ')$GK_USER" \
			useradd --system $(prefix_opt) --gid "$GK_GROUP" --home-dir / --no-create-home \
			--shell /usr/sbin/nologin --comment "gpukeep persistence daemon" "$GK_USER"
	fi
}

# render SRC TARGET: the template with the paths, user and group filled in, in place at once.
render()
{
	mkdir -p "$(dirname "$2")" &&
		sed -e "s|@SBINDIR@|$SBINDIR|g" -e "s|@BINDIR@|$BINDIR|g" -e "s|@USER@|$GK_USER|g" \
			-e "s|@GROUP@|$GK_GROUP|g" "$SRCDIR/$1" >"$2.new" &&
		chmod "$MODE" "$2.new" && mv "$2.new" "$2"
}

# install_file SRC TARGET: backs up what is there, then renders SRC into TARGET.
install_file()
{
	if [ -e "$2" ]; then
		step "back up $2 to $2.bak" "mv '$2.bak' '$2'" cp -p "$2" "$2.bak"
	fi
	step "install $1 as $2 (mode $MODE, user $GK_USER, group $GK_GROUP)" "rm -f '$2'" \
		render "$1" "$2"
}

# enable_start NAME: enables service NAME (its file at $(dest NAME)) and starts it unless
# --no-start.
enable_start()
{
	[ "$LIVE" -eq 1 ] || return 0
	case "$INIT" in
	systemd)
		step "systemctl daemon-reload" "" systemctl daemon-reload
		step "enable $1.service" "systemctl disable $1.service" systemctl enable "$1.service"
		[ "$START" -eq 0 ] ||
			step "start $1.service" "systemctl stop $1.service" systemctl start "$1.service"
		;;
	upstart)
		[ "$START" -eq 0 ] || step "start $1 (upstart)" "initctl stop $1" initctl start "$1"
		;;
	sysv)
		if command -v update-rc.d >/dev/null 2>&1; then
			step "enable $1 (update-rc.d)" "update-rc.d -f $1 remove" update-rc.d "$1" defaults
		else
			step "enable $1 (chkconfig)" "chkconfig --del $1" chkconfig --add "$1"
		fi
		[ "$START" -eq 0 ] || step "start $1" "$(dest "$1") stop" "$(dest "$1")" start
		;;
	esac
}

# stop_disable NAME: stops service NAME and disables it; neither may fail the uninstall.
stop_disable()
{
	[ "$LIVE" -eq 1 ] || return 0
	case "$INIT" in
	systemd)
		step "stop and disable $1.service" "" sh -c "systemctl disable --now $1.service || true"
		;;
	upstart) step "stop $1 (upstart)" "" sh -c "initctl stop $1 || true" ;;
	sysv)
		step "stop $1" "" sh -c "'$(dest "$1")' stop || true"
		step "disable $1" "" sh -c \
			"update-rc.d -f $1 remove 2>/dev/null || chkconfig --del $1 || true"
		;;
	esac
}

# The watcher's service file, enabled only with --enable-watch.
install_watch()
{
	[ "$WATCH" -eq 1 ] || return 0
	if [ "$INIT" = upstart ] && [ "$ENABLE_WATCH" -eq 0 ]; then
		step "keep gpukeep-watch from starting by itself ($WOVERRIDE: manual)" \
			"rm -f '$WOVERRIDE'" sh -c "mkdir -p '$(dirname "$WOVERRIDE")' &&
				echo manual >'$WOVERRIDE'"
	elif [ "$INIT" = upstart ] && [ -e "$WOVERRIDE" ]; then
		step "let gpukeep-watch start on its events (remove $WOVERRIDE)" \
			"echo manual >'$WOVERRIDE'" rm -f "$WOVERRIDE"
	fi
	install_file "$WSRC" "$WTARGET"
}

remove_file()
{
	if [ -e "$1" ]; then
		step "remove $1" "" rm -f "$1"
	else
		echo "install.sh: $1 is not installed"
	fi
}

# --- nvidia-persistenced: found, running, replaced, restored -----------------------------------

NVPD_PIDFILE=/var/run/nvidia-persistenced/nvidia-persistenced.pid

nvpd_installed()
{
	case "$INIT" in
	systemd) systemctl cat nvidia-persistenced.service >/dev/null 2>&1 ;;
	upstart) [ -f "$PROBE_ROOT/etc/init/nvidia-persistenced.conf" ] ;;
	sysv) [ -x "$PROBE_ROOT/etc/init.d/nvidia-persistenced" ] ;;
	esac
}

nvpd_running()
{
	case "$INIT" in
	systemd) systemctl is-active --quiet nvidia-persistenced.service ;;
	upstart) initctl status nvidia-persistenced 2>/dev/null | grep -q running ;;
	sysv)
		pid=$(cat "$PROBE_ROOT$NVPD_PIDFILE" 2>/dev/null) || return 1
		case "$pid" in '' | *[!0-9]*) return 1 ;; esac
		kill -0 "$pid" 2>/dev/null
		;;
	esac
}

nvpd_replace()
{
	case "$INIT" in
	systemd)
		step "stop nvidia-persistenced.service" \
			"systemctl start nvidia-persistenced.service" \
			systemctl stop nvidia-persistenced.service
		step "disable nvidia-persistenced.service" \
			"systemctl enable nvidia-persistenced.service" \
			sh -c 'systemctl disable nvidia-persistenced.service || true'
		step "mask nvidia-persistenced.service (nothing can start it beside gpukeepd)" \
			"systemctl unmask nvidia-persistenced.service" \
			systemctl mask nvidia-persistenced.service
		;;
	upstart)
		step "stop nvidia-persistenced (upstart)" "initctl start nvidia-persistenced" \
			sh -c 'initctl stop nvidia-persistenced || true'
		step "disable nvidia-persistenced (/etc/init/nvidia-persistenced.override: manual)" \
			"rm -f /etc/init/nvidia-persistenced.override" \
			sh -c 'echo manual >/etc/init/nvidia-persistenced.override'
		;;
	sysv)
		step "stop nvidia-persistenced" "/etc/init.d/nvidia-persistenced start" \
			sh -c '/etc/init.d/nvidia-persistenced stop || true'
		step "disable nvidia-persistenced" \
			"update-rc.d nvidia-persistenced enable 2>/dev/null || chkconfig nvidia-persistenced on" \
			sh -c 'update-rc.d nvidia-persistenced disable 2>/dev/null ||
				chkconfig nvidia-persistenced off'
		;;
	esac
}

nvpd_restore()
{
	if ! nvpd_installed; then
		echo "install.sh: no nvidia-persistenced service is installed: nothing to restore"
		return 0
	fi
	case "$INIT" in
	systemd)
		step "unmask nvidia-persistenced.service" "" systemctl unmask nvidia-persistenced.service
		step "enable nvidia-persistenced.service" "" systemctl enable nvidia-persistenced.service
		step "start nvidia-persistenced.service" "" systemctl start nvidia-persistenced.service
		;;
	upstart)
		step "re-enable nvidia-persistenced (remove its override)" "" \
			rm -f /etc/init/nvidia-persistenced.override
		step "start nvidia-persistenced (upstart)" "" initctl start nvidia-persistenced
		;;
	sysv)
		step "enable nvidia-persistenced" "" sh -c \
			'update-rc.d nvidia-persistenced enable 2>/dev/null || chkconfig nvidia-persistenced on'
		step "start nvidia-persistenced" "" /etc/init.d/nvidia-persistenced start
		;;
	esac
}

# Before anything changes: gpukeepd cannot start while nvidia-persistenced holds its socket.
nvpd_precheck()
{
	[ "$LIVE" -eq 1 ] || return 0
	if ! nvpd_installed; then
		[ "$REPLACE_NVPD" -eq 0 ] ||
			echo "install.sh: no nvidia-persistenced service is installed: nothing to replace"
		REPLACE_NVPD=0
		return 0
	fi
	[ "$REPLACE_NVPD" -eq 0 ] || return 0
	if nvpd_running; then
		echo "install.sh: nvidia-persistenced is running. gpukeepd serves its RPC socket" \
			"(/var/run/nvidia-persistenced/socket) and replaces it: rerun with" \
			"--replace-nvidia-persistenced to stop, disable and mask it and start gpukeepd in" \
			"its place (--uninstall --restore-nvidia-persistenced goes back). Nothing was" \
			"changed." >&2
		exit 3
	fi
	echo "install.sh: note: nvidia-persistenced's service is installed but not running;" \
		"--replace-nvidia-persistenced would also disable and mask it"
}

do_install()
{
	if [ "$LIVE" -eq 1 ] && [ ! -x "$SBINDIR/gpukeepd" ]; then
		echo "install.sh: $SBINDIR/gpukeepd is missing: install gpukeep first" \
			"(or pass --sbindir)" >&2
		[ "$DRY_RUN" -eq 1 ] || exit 3
	fi
	if [ "$LIVE" -eq 1 ] && [ "$WATCH" -eq 1 ] && [ ! -x "$BINDIR/gpukeep" ]; then
		echo "install.sh: $BINDIR/gpukeep is missing: install gpukeep first" \
			"(or pass --bindir, or --no-watch)" >&2
		[ "$DRY_RUN" -eq 1 ] || exit 3
	fi
	nvpd_precheck
	create_accounts
	[ "$REPLACE_NVPD" -eq 0 ] || nvpd_replace
	install_file "$SRC" "$TARGET"
	install_watch
	enable_start gpukeepd
	[ "$ENABLE_WATCH" -eq 0 ] || enable_start gpukeep-watch
	[ "$WATCH" -eq 0 ] || [ "$ENABLE_WATCH" -eq 1 ] ||
		echo "install.sh: gpukeep-watch is installed, not enabled: see --enable-watch"
	echo "install.sh: done ($INIT)"
}

do_uninstall()
{
	# the watcher first: it asks gpukeepd for its GPUs
	if [ "$WATCH" -eq 1 ]; then
		[ ! -e "$WTARGET" ] || stop_disable gpukeep-watch
		remove_file "$WTARGET"
		[ ! -e "$WOVERRIDE" ] || [ "$INIT" != upstart ] || remove_file "$WOVERRIDE"
	fi
	stop_disable gpukeepd
	remove_file "$TARGET"
	[ "$INIT" != systemd ] || [ "$LIVE" -eq 0 ] || step "systemctl daemon-reload" "" \
		systemctl daemon-reload
	if [ "$REMOVE_USER" -eq 1 ]; then
		# shellcheck disable=SC2046
		! user_exists "$GK_USER" || step "delete user $GK_USER" "" userdel $(prefix_opt) \
			"$GK_USER"
		# shellcheck disable=SC2046
		! group_exists "$GK_GROUP" || step "delete group $GK_GROUP" "" groupdel \
			$(prefix_opt) "$GK_GROUP"
	fi
	[ "$RESTORE_NVPD" -eq 0 ] || [ "$LIVE" -eq 0 ] || nvpd_restore
	echo "install.sh: uninstalled ($INIT)"
}

[ "$DRY_RUN" -eq 0 ] || echo "install.sh: dry run: nothing is changed"
if [ "$UNINSTALL" -eq 1 ]; then
	do_uninstall
else
	do_install
fi
