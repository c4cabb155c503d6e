#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian packages' maintainer scripts on the Debian node, as Debian policy wants them: the
# install creates the system user and enables and starts the unit; /etc/default/gpukeepd is a
# conffile whose options reach the daemon; remove stops the daemon and keeps conffile, state and
# user; purge drops the conffile, gpukeepd's state and the unit's enablement, keeps the user and
# leaves gpukeep's reload journal in the shared state directory until gpukeep is purged too; an
# upgrade restarts the daemon. And NVIDIA's persistence daemon, as README.md documents: the
# package nvidia-persistenced conflicts (dpkg refuses); a unit of that name installed outside
# dpkg is stopped when gpukeepd starts, loses to it when both are wanted, and stops it when
# started itself.
# shellcheck disable=SC2016 # guest commands: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare_debian

boot pkg --userland debian --gpus 2 --timeout 840 -- '
DEBS=/var/cache/gpukeep-debs
S=/var/lib/gpukeep
show() { systemctl show "$1" -P "$2"; }
gpu_fds() { ls -l /proc/$1/fd 2>/dev/null | grep -c "/dev/nvidia[0-9]"; }
state() { dpkg-query -W -f="\${db:Status-Status}" "$1" 2>/dev/null || echo not-installed; }
exists() { if test -e "$1"; then echo yes; else echo no; fi; }

# --- as installed (dpkg -i in the image) and booted
getent passwd gpukeep >/out/passwd
getent group gpukeep >/out/group
echo "$(systemctl is-enabled gpukeepd) $(systemctl is-active gpukeepd)" >/out/installed
dpkg-query -W -f="\${Conffiles}\n" gpukeepd >/out/conffiles
dpkg -L gpukeep gpukeepd >/out/files

# --- the conffile: the operator s options reach the daemon
gpukeep pm -i 0 0 >/dev/null
sed -i "s/^GKD_OPTS=.*/GKD_OPTS=\"--uvm-persistence-mode --open-timeout 30\"/" /etc/default/gpukeepd
timeout 90 systemctl restart gpukeepd; echo $? >/out/restart.rc
tr "\0" " " </proc/$(show gpukeepd MainPID)/cmdline >/out/cmdline
ls -l /proc/$(show gpukeepd MainPID)/fd | grep -c "/dev/nvidia-uvm$" >/out/uvm

# --- remove
P=$(show gpukeepd MainPID)
dpkg -r gpukeepd >/out/remove.log 2>&1; echo $? >/out/remove.rc
{
	echo "state $(state gpukeepd)"
	echo "active $(systemctl is-active gpukeepd)"
	[ "$P" -gt 0 ] && kill -0 $P 2>/dev/null && echo "process alive" || echo "process gone"
	echo "unit $(exists /lib/systemd/system/gpukeepd.service)"
	echo "conffile $(grep -c "^GKD_OPTS=.*--uvm-persistence-mode" /etc/default/gpukeepd)"
	echo "state-file $(exists $S/persistence.json)"
	echo "user $(getent passwd gpukeep | cut -d: -f3)"
	echo "initialized $(cat /sys/kernel/debug/nvidia_sim/gpu*/initialized | tr -d "\n")"
} >/out/removed

# --- purge
dpkg --purge gpukeepd >/out/purge.log 2>&1; echo $? >/out/purge.rc
{
	echo "state $(state gpukeepd)"
	echo "conffile $(exists /etc/default/gpukeepd)"
	echo "state-dir $(exists $S)"
	echo "wants $(exists /etc/systemd/system/multi-user.target.wants/gpukeepd.service)"
	echo "user $(getent passwd gpukeep | cut -d: -f3)"
} >/out/purged

# --- install again, upgrade in place, the shared state directory
dpkg -i $DEBS/gpukeepd_*.deb >/out/reinstall.log 2>&1; echo $? >/out/reinstall.rc
P1=$(show gpukeepd MainPID)
echo "$(systemctl is-enabled gpukeepd) $(systemctl is-active gpukeepd) $(gpu_fds $P1)" >/out/reinstalled
getent passwd gpukeep | cut -d: -f3 >/out/uid.reinstalled
dpkg -i $DEBS/gpukeepd_*.deb >/out/upgrade.log 2>&1; echo $? >/out/upgrade.rc
P2=$(show gpukeepd MainPID)
echo "$(systemctl is-active gpukeepd) $(gpu_fds $P2)" >/out/upgraded
[ "$P1" != "$P2" ] && echo restarted >/out/upgrade.pid || echo same >/out/upgrade.pid
gpukeep pm -i 0 1 >/dev/null
timeout 120 gpukeep reload >/out/reload.log 2>&1; echo $? >/out/reload.rc
dpkg --purge gpukeepd >/dev/null 2>&1
ls $S >/out/shared.after_gpukeepd 2>&1
dpkg --purge gpukeep >/out/purge-cli.log 2>&1; echo $? >/out/purge-cli.rc
exists $S >/out/shared.after_both

# --- NVIDIA s nvidia-persistenced package: dpkg refuses to install gpukeepd beside it
mkdir -p /tmp/nvpd/DEBIAN
cat >/tmp/nvpd/DEBIAN/control <<"EOF"
Package: nvidia-persistenced
Version: 535.261.03-1
Architecture: amd64
Maintainer: test <test@localhost>
Description: stand-in for the package of NVIDIA s persistence daemon
 Only its name matters here.
EOF
dpkg-deb --build /tmp/nvpd /tmp/nvidia-persistenced.deb >/dev/null
dpkg -i /tmp/nvidia-persistenced.deb >/dev/null 2>&1
dpkg -i $DEBS/gpukeepd_*.deb >/out/conflict.log 2>&1; echo $? >/out/conflict.rc
echo "$(state gpukeepd) $(state nvidia-persistenced)" >/out/conflict.state
dpkg --purge nvidia-persistenced >/dev/null 2>&1

# --- a nvidia-persistenced.service from outside dpkg (NVIDIA s .run installer), running
cat >/etc/systemd/system/nvidia-persistenced.service <<"EOF"
[Unit]
Description=test: NVIDIA Persistence Daemon, installed outside dpkg
[Service]
ExecStart=/bin/sh -c "exec 3</dev/nvidia0; exec sleep infinity"
[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable --now nvidia-persistenced.service 2>/dev/null
echo "$(systemctl is-active nvidia-persistenced)" >/out/nvpd.before
dpkg -i $DEBS/gpukeep_*.deb $DEBS/gpukeepd_*.deb >/out/install.nvpd.log 2>&1; echo $? >/out/install.nvpd.rc
echo "$(systemctl is-active gpukeepd) $(systemctl is-active nvidia-persistenced) $(systemctl is-enabled nvidia-persistenced)" >/out/after.install
# both wanted in one transaction, as at boot: the unit that declares the conflict wins
systemctl stop gpukeepd
printf "[Unit]\nWants=gpukeepd.service nvidia-persistenced.service\n" >/etc/systemd/system/both.target
systemctl daemon-reload
systemctl start both.target >/out/both.log 2>&1; echo $? >/out/both.rc
echo "$(systemctl is-active gpukeepd) $(systemctl is-active nvidia-persistenced)" >/out/after.both
systemctl start nvidia-persistenced
echo "$(systemctl is-active gpukeepd) $(systemctl is-active nvidia-persistenced)" >/out/after.nvpd_start
'
check "boot: exit 0" same "$(cat "$E2E_TMP/pkg.rc")" 0
O=$E2E_TMP/pkg
pcheck pkg "install: system user gpukeep (uid < 1000, no login shell)" \
	'(lambda f: f[0] == "gpukeep" and int(f[2]) < 1000 and f[6] == "/usr/sbin/nologin")(out.text("passwd").strip().split(":"))'
check "install: group gpukeep" grep -q '^gpukeep:' "$O/group"
check "install: unit enabled and running" same "$(cat "$O/installed")" "enabled active"
pcheck pkg "/etc/default/gpukeepd is a conffile" \
	'any(l.split()[0] == "/etc/default/gpukeepd" for l in out.lines("conffiles"))'
pcheck pkg "man pages, unit, sysusers file, docs and copyright in the packages" \
	'{"/usr/share/man/man1/gpukeep.1.gz", "/usr/share/man/man8/gpukeepd.8.gz", "/lib/systemd/system/gpukeepd.service", "/usr/lib/sysusers.d/gpukeepd.conf", "/usr/share/doc/gpukeep/copyright", "/usr/share/doc/gpukeepd/copyright", "/usr/share/doc/gpukeepd/protocol.md.gz"} <= set(out.lines("files"))'
check "restart after editing /etc/default/gpukeepd: exit 0" same "$(cat "$O/restart.rc")" 0
pcheck pkg "GKD_OPTS from /etc/default/gpukeepd reach the daemon" \
	'out.text("cmdline").split()[1:] == ["--user", "gpukeep", "--group", "gpukeep", "--uvm-persistence-mode", "--open-timeout", "30"]'
check "... it holds /dev/nvidia-uvm too (DeviceAllow=char-nvidia-uvm)" same "$(cat "$O/uvm")" 1
check "dpkg -r gpukeepd: exit 0" same "$(cat "$O/remove.rc")" 0
# kv NAME: the guest's "key value" lines as a Python dict expression
kv() { echo "dict(l.split(\" \", 1) for l in out.lines(\"$1\"))"; }
pcheck pkg "remove: config-files state, daemon stopped (prerm), GPUs released, unit file gone" \
	"(lambda d: (d['state'], d['active'], d['process'], d['unit'], d['initialized']) == ('config-files', 'inactive', 'gone', 'no', '00'))($(kv removed))"
pcheck pkg "remove: the edited conffile, the state file and the user stay" \
	"(lambda d: (d['conffile'], d['state-file']) == ('1', 'yes') and d['user'].isdigit())($(kv removed))"
check "dpkg --purge gpukeepd: exit 0" same "$(cat "$O/purge.rc")" 0
pcheck pkg "purge: package gone, conffile, state directory and the unit's enablement gone" \
	"(lambda d: (d['state'], d['conffile'], d['state-dir'], d['wants']) == ('not-installed', 'no', 'no', 'no'))($(kv purged))"
pcheck pkg "purge: the system user stays, same uid (files it owned may remain)" \
	"(lambda a, b: a['user'] == b['user'] != '')($(kv removed), $(kv purged))"
check "install again: exit 0" same "$(cat "$O/reinstall.rc")" 0
check "... enabled, started, both GPUs held" same "$(cat "$O/reinstalled")" "enabled active 2"
check "... the same user as before" same "$(cat "$O/uid.reinstalled")" "$(sed -n 's/^user //p' "$O/purged")"
check "upgrade (dpkg -i over itself): exit 0" same "$(cat "$O/upgrade.rc")" 0
check "... the daemon was restarted and holds both GPUs" same "$(cat "$O/upgraded") $(cat "$O/upgrade.pid")" "active 2 restarted"
check "a reload leaves gpukeep's journal in the state directory: exit 0" same "$(cat "$O/reload.rc")" 0
pcheck pkg "purge gpukeepd: its state file goes, gpukeep's journal and lock stay" \
	'"persistence.json" not in out.lines("shared.after_gpukeepd") and "reload.journal.last" in out.lines("shared.after_gpukeepd")'
check "purge gpukeep too: exit 0" same "$(cat "$O/purge-cli.rc")" 0
check "... and /var/lib/gpukeep is gone" same "$(cat "$O/shared.after_both")" no
check "package nvidia-persistenced installed: dpkg -i gpukeepd fails" \
	test "$(cat "$O/conflict.rc")" != 0
check "... naming the conflict" grep -q "conflicts with nvidia-persistenced" "$O/conflict.log"
check "... gpukeepd not installed, nvidia-persistenced still is" same "$(cat "$O/conflict.state")" "not-installed installed"
check "a nvidia-persistenced.service from outside dpkg was running" same "$(cat "$O/nvpd.before")" active
check "installing the packages there: exit 0" same "$(cat "$O/install.nvpd.rc")" 0
check "... gpukeepd started, the other stopped (Conflicts=), its enablement left to the operator" \
	same "$(cat "$O/after.install")" "active inactive enabled"
check "both wanted in one transaction (as at boot): exit 0" same "$(cat "$O/both.rc")" 0
check "... gpukeepd runs, nvidia-persistenced does not" same "$(cat "$O/after.both")" "active inactive"
check "starting nvidia-persistenced.service stops gpukeepd" same "$(cat "$O/after.nvpd_start")" "inactive active"
e2e_done
