#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeepd.service from the Debian package, under a real systemd (sim/vm/run --userland debian):
# started at boot with its sandbox, holding every GPU as the gpukeep user, logging to the
# journal, answering on its socket; SIGHUP keeps it running; a stop is clean (exit 0, every
# device released, the GPUs torn down, the runtime directory gone); a start with slow first
# opens returns only once every GPU is held (active only through READY=1).
# shellcheck disable=SC2016 # guest commands: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare_debian

GPUS=4
boot daemon --userland debian --gpus "$GPUS" --timeout 600 -- '
D=/sys/kernel/debug/nvidia_sim
show() { systemctl show gpukeepd -P "$1"; }
gpu_fds() { ls -l /proc/$1/fd 2>/dev/null | grep -c "/dev/nvidia[0-9]"; }
initialized() { cat $D/gpu*/initialized | tr -d "\n"; }
systemctl is-system-running --wait >/out/system 2>&1
P=$(show MainPID); echo $P >/out/pid
for p in Type NotifyAccess ActiveState SubState StatusText NRestarts; do
	echo "$p=$(show $p)"
done >/out/props
systemctl is-enabled gpukeepd >/out/enabled 2>&1
grep -E "^(Uid|Gid|NoNewPrivs|Seccomp|CapEff|CapBnd):" /proc/$P/status >/out/status
readlink /proc/$P/ns/net /proc/1/ns/net >/out/netns
awk "\$5 == \"/\" { print \$6 }" /proc/$P/mountinfo >/out/rootmount
awk "\$5 == \"/home\" { print \$4 }" /proc/$P/mountinfo >/out/home
id -un $(awk "/^Uid:/ { print \$2 }" /proc/$P/status) >/out/user
gpu_fds $P >/out/fds
initialized >/out/initialized
systemctl show gpukeepd -P DevicePolicy >/out/devicepolicy
systemd-analyze security gpukeepd --no-pager >/out/security 2>&1
journalctl -b -u gpukeepd -o cat --no-pager >/out/journal.start
journalctl -b -u gpukeepd -o json --no-pager >/out/journal.json
gpukeep status --json >/out/status.json 2>/out/status.err; echo $? >/out/status.rc
stat -c "%U %G %a" /run/gpukeep/socket >/out/socket

systemctl reload gpukeepd
sleep 1
echo "$(show ActiveState) $(show MainPID)" >/out/after_hup

cat $D/gpu*/deinit_count | tr "\n" " " >/out/deinit.before
timeout 60 systemctl stop gpukeepd; echo $? >/out/stop.rc
for p in ActiveState Result ExecMainCode ExecMainStatus; do
	echo "$p=$(show $p)"
done >/out/stopped
kill -0 $P 2>/dev/null && echo alive >/out/pid.after || echo gone >/out/pid.after
initialized >/out/initialized.stopped
cat $D/gpu*/deinit_count | tr "\n" " " >/out/deinit.after
test -e /run/gpukeep && echo present >/out/rundir || echo gone >/out/rundir
journalctl -b -u gpukeepd -o cat --no-pager >/out/journal.stop

# Each first open now takes 2 s: "systemctl start" returns once the unit is active, which for
# Type=notify is READY=1; the daemon must not send it before every open has settled.
echo 2000 >$D/init_ms
timeout 60 systemctl start gpukeepd; echo $? >/out/start.rc
P2=$(show MainPID)
echo "$(show ActiveState) $(gpu_fds $P2)" >/out/restarted
initialized >/out/initialized.restarted
'
check "boot: exit 0" same "$(cat "$E2E_TMP/daemon.rc")" 0
O=$E2E_TMP/daemon
check "the system reached 'running' (no unit failed)" same "$(cat "$O/system")" running
check "gpukeepd.service enabled by the package" same "$(cat "$O/enabled")" enabled
pcheck daemon "Type=notify, NotifyAccess=main: 'active' only after READY=1" \
	'"Type=notify" in out.lines("props") and "NotifyAccess=main" in out.lines("props")'
pcheck daemon "active (running), never restarted" \
	'{"ActiveState=active", "SubState=running", "NRestarts=0"} <= set(out.lines("props"))'
pcheck daemon "its status line came through the notification socket: holding $GPUS of $GPUS" \
	'"StatusText=holding '"$GPUS of $GPUS"' GPUs" in out.lines("props")'
pcheck daemon "the journal has its 'ready' line" \
	'"ready: '"$GPUS"' GPUs, '"$GPUS"' held, 0 stuck" in out.text("journal.start")'
check "runs as the package's user gpukeep" same "$(cat "$O/user")" gpukeep
pcheck daemon "no capability left, NoNewPrivs, a seccomp filter" \
	'(lambda s: s["CapEff"] == "0000000000000000" and s["NoNewPrivs"] == "1" and s["Seccomp"] == "2")(dict(l.split(":\t") for l in out.lines("status")))'
# the unit allows what start-up needs (CapabilityBoundingSet=); the daemon then empties its
# bounding set before it drops to its user (issue 15), so none can ever come back
pcheck daemon "bounding set empty after the privilege drop" \
	'dict(l.split(":\t") for l in out.lines("status"))["CapBnd"] == "0000000000000000"'
pcheck daemon "PrivateNetwork: a network namespace of its own" \
	'len(set(out.lines("netns"))) == 2'
check "ProtectSystem=strict: / is read-only for it" grep -q '^ro,' "$O/rootmount"
check "ProtectHome: /home is an inaccessible mount" test -s "$O/home"
check "DevicePolicy=closed" same "$(cat "$O/devicepolicy")" closed
pcheck daemon "systemd-analyze security rates it OK or better" \
	'any(l.startswith("→ Overall exposure level") and l.split()[-2] in ("OK", "SAFE") for l in out.lines("security"))'
check "holds every GPU: $GPUS device files open" same "$(cat "$O/fds")" "$GPUS"
check "every GPU initialized" same "$(cat "$O/initialized")" "$(printf '1%.0s' $(seq "$GPUS"))"
pcheck daemon "logs to the journal as gpukeepd.service, syslog facility daemon" \
	'(lambda es: any(e.get("SYSLOG_IDENTIFIER") == "gpukeepd" and e.get("SYSLOG_FACILITY") == "3" for e in es))([__import__("json").loads(l) for l in out.lines("journal.json")])'
check "gpukeep status through the socket: exit 0" same "$(cat "$O/status.rc")" 0
pcheck daemon "... the daemon keeps all $GPUS GPUs" \
	'len(j("status.json")["gpus"]) == '"$GPUS"
check "socket owned by gpukeep, mode 0666" same "$(cat "$O/socket")" "gpukeep gpukeep 666"
pcheck daemon "systemctl reload (SIGHUP): still active, same pid" \
	'out.text("after_hup").split() == ["active", out.text("pid").strip()]'
check "systemctl stop: exit 0" same "$(cat "$O/stop.rc")" 0
pcheck daemon "stopped cleanly: inactive, result success, exit status 0" \
	'{"ActiveState=inactive", "Result=success", "ExecMainStatus=0"} <= set(out.lines("stopped"))'
check "the process is gone" same "$(cat "$O/pid.after")" gone
check "every GPU torn down once released" same "$(cat "$O/initialized.stopped")" "$(printf '0%.0s' $(seq "$GPUS"))"
pcheck daemon "each GPU's teardown counter moved by one" \
	'[int(a) + 1 for a in out.text("deinit.before").split()] == [int(b) for b in out.text("deinit.after").split()]'
pcheck daemon "the journal says it released its devices" \
	'"released '"$GPUS"' device files" in out.text("journal.stop")'
check "RuntimeDirectory /run/gpukeep removed at stop" same "$(cat "$O/rundir")" gone
check "systemctl start: exit 0" same "$(cat "$O/start.rc")" 0
check "started again with 2 s opens: when 'systemctl start' returns, $GPUS GPUs are held" \
	same "$(cat "$O/restarted")" "active $GPUS"
check "... and initialized" same "$(cat "$O/initialized.restarted")" "$(printf '1%.0s' $(seq "$GPUS"))"
e2e_done
