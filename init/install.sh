#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs gpukeepd's service file for the running init system (systemd, Upstart or SysV),
# creating the daemon's system user and group if missing, then enables and starts it.
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
      --no-start     install and enable, but do not start
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
case "$GK_USER$GK_GROUP" in
*[!a-z0-9_-]*) die_usage "user and group names are [a-z0-9_-]" ;;
esac
[ "$REMOVE_USER" -eq 0 ] || [ "$UNINSTALL" -eq 1 ] || die_usage "--remove-user needs --uninstall"
[ "$RESTORE_NVPD" -eq 0 ] || [ "$UNINSTALL" -eq 1 ] ||
	die_usage "--restore-nvidia-persistenced needs --uninstall"
[ "$REPLACE_NVPD" -eq 0 ] || [ "$UNINSTALL" -eq 0 ] ||
	die_usage "--replace-nvidia-persistenced is for installing"

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

case "$INIT" in
systemd)
	SRC=gpukeepd.service
	DEST=/etc/systemd/system/gpukeepd.service
	MODE=0644
	;;
upstart)
	SRC=gpukeepd.upstart
	DEST=/etc/init/gpukeepd.conf
	MODE=0644
	;;
sysv)
	SRC=gpukeepd.sysv
	DEST=/etc/init.d/gpukeepd
	MODE=0755
	;;
esac
TARGET=$DESTDIR$DEST
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

render()
{
	mkdir -p "$(dirname "$TARGET")" &&
		sed -e "s|@SBINDIR@|$SBINDIR|g" -e "s|@USER@|$GK_USER|g" -e "s|@GROUP@|$GK_GROUP|g" \
			"$SRCDIR/$SRC" >"$TARGET.new" &&
		chmod "$MODE" "$TARGET.new" && mv "$TARGET.new" "$TARGET"
}

enable_start()
{
	[ "$LIVE" -eq 1 ] || return 0
	case "$INIT" in
	systemd)
		step "systemctl daemon-reload" "" systemctl daemon-reload
		step "enable gpukeepd.service" "systemctl disable gpukeepd.service" \
			systemctl enable gpukeepd.service
		[ "$START" -eq 0 ] ||
			step "start gpukeepd.service" "systemctl stop gpukeepd.service" \
				systemctl start gpukeepd.service
		;;
	upstart)
		[ "$START" -eq 0 ] ||
			step "start gpukeepd (upstart)" "initctl stop gpukeepd" initctl start gpukeepd
		;;
	sysv)
		if command -v update-rc.d >/dev/null 2>&1; then
			step "enable gpukeepd (update-rc.d)" "update-rc.d -f gpukeepd remove" \
				update-rc.d gpukeepd defaults
		else
			step "enable gpukeepd (chkconfig)" "chkconfig --del gpukeepd" \
				chkconfig --add gpukeepd
		fi
		[ "$START" -eq 0 ] ||
			step "start gpukeepd" "$DEST stop" "$DEST" start
		;;
	esac
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
	nvpd_precheck
	create_accounts
	[ "$REPLACE_NVPD" -eq 0 ] || nvpd_replace
	if [ -e "$TARGET" ]; then
		step "back up $TARGET to $TARGET.bak" "mv '$TARGET.bak' '$TARGET'" \
			cp -p "$TARGET" "$TARGET.bak"
	fi
	step "install $SRC as $TARGET (mode $MODE, user $GK_USER, group $GK_GROUP)" \
		"rm -f '$TARGET'" render
	enable_start
	echo "install.sh: done ($INIT)"
}

do_uninstall()
{
	if [ "$LIVE" -eq 1 ]; then
		case "$INIT" in
		systemd)
			step "stop and disable gpukeepd.service" "" sh -c \
				'systemctl disable --now gpukeepd.service || true'
			;;
		upstart) step "stop gpukeepd (upstart)" "" sh -c 'initctl stop gpukeepd || true' ;;
		sysv)
			step "stop gpukeepd" "" sh -c "'$DEST' stop || true"
			step "disable gpukeepd" "" sh -c \
				'update-rc.d -f gpukeepd remove 2>/dev/null || chkconfig --del gpukeepd || true'
			;;
		esac
	fi
	if [ -e "$TARGET" ]; then
		step "remove $TARGET" "" rm -f "$TARGET"
	else
		echo "install.sh: $TARGET is not installed"
	fi
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
