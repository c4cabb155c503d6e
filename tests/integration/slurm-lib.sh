#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A throw-away single-node Slurm cluster for tests and benchmarks: munged, slurmctld and slurmd
# started as root (no systemd) under a scratch directory, on loopback ports, with a generated
# slurm.conf and munge key; slurm_stop kills exactly the daemons it started. Every wait has a
# deadline. Sourced; needs Debian's slurmctld, slurmd, slurm-client and munge.

# slurm_have: whether the programs are installed (prints what is missing otherwise).
slurm_have()
{
	local p missing=""
	for p in munged slurmctld slurmd scontrol sinfo squeue sbatch; do
		command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "missing:$missing (Debian: apt-get install slurmctld slurmd slurm-client munge)"
	return 1
}

# slurm_test_init: for a test script (after lib.sh): skips (exit 77, saying why) without root or
# without Slurm's programs, and stops the cluster on exit.
slurm_test_init()
{
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP needs root to run slurmd and munged (make check runs as root in CI)"
		exit 77
	fi
	if ! why=$(slurm_have); then
		echo "1..0 # SKIP $why"
		exit 77
	fi
	trap 'slurm_stop; gk_cleanup' EXIT
}

# slurm_wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or the
# deadline passes (returns 1 then).
slurm_wait_until()
{
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

slurm_node_idle()
{
	sinfo -h -n "$SLURM_NODE" -o '%t' | grep -qx idle
}

# The node's State= and reason (without Slurm's user@time trailer).
slurm_state() { scontrol show node -o "$SLURM_NODE" | grep -o ' State=[^ ]*' | cut -d= -f2; }
slurm_reason() { sinfo -h -n "$SLURM_NODE" -o '%E'; }
# slurm_drained_for REASON: drained, with exactly that reason
slurm_drained_for() { [ "$(slurm_reason)" = "$1" ] && slurm_state | grep -q DRAIN; }
slurm_job_is() { scontrol show job "$1" | grep -q "JobState=$2 "; }
# slurm_submit COMMAND: a batch job; prints its id
slurm_submit() { sbatch --parsable -o /dev/null --mem=1 --wrap "$1"; }

# slurm_start DIR: starts the cluster under DIR; exports SLURM_CONF, SLURM_NODE. Returns 1 with
# the daemons' logs on stderr when it does not come up within 30 s.
slurm_start()
{
	local dir=$1 port
	SLURM_DIR=$dir
	SLURM_NODE=$(hostname -s)
	mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
	chmod 0700 "$dir/munge"
	head -c 1024 /dev/urandom >"$dir/munge/munge.key"
	chmod 0400 "$dir/munge/munge.key"
	# ports from the pid so that parallel runs do not collide; loopback only
	port=$((20000 + ($$ % 20000)))
	cat >"$dir/slurm.conf" <<EOF_CONF
ClusterName=gktest
SlurmctldHost=$SLURM_NODE(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SelectType=select/cons_tres
ReturnToService=2
RebootProgram=/bin/true
ResumeTimeout=3600
SlurmctldTimeout=10
SlurmdTimeout=30
MessageTimeout=5
JobRequeue=1
MpiDefault=none
NodeName=$SLURM_NODE NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=500 State=UNKNOWN
PartitionName=gk Nodes=$SLURM_NODE Default=YES MaxTime=INFINITE State=UP
EOF_CONF
	export SLURM_CONF="$dir/slurm.conf" SLURM_NODE SLURM_DIR
	/usr/sbin/munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/socket" \
		--pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
		--seed-file="$dir/munge/seed" --force || return 1
	slurm_wait_until 5 test -S "$dir/munge/socket" || { slurm_logs; return 1; }
	/usr/sbin/slurmctld -c -f "$SLURM_CONF" || { slurm_logs; return 1; }
	/usr/sbin/slurmd -f "$SLURM_CONF" || { slurm_logs; return 1; }
	if ! slurm_wait_until 30 slurm_node_idle; then
		slurm_logs
		return 1
	fi
}

slurm_logs()
{
	local f
	for f in "$SLURM_DIR"/log/*.log; do
		echo "# --- $f" >&2
		tail -n 20 "$f" | sed 's/^/#   /' >&2
	done
}

# slurm_stop: kills the daemons this cluster started (by their pid files), waits up to 10 s.
slurm_stop()
{
	local f pid
	[ -n "${SLURM_DIR:-}" ] || return 0
	for f in slurmd.pid slurmctld.pid munge/munged.pid; do
		[ -s "$SLURM_DIR/$f" ] || continue
		pid=$(cat "$SLURM_DIR/$f")
		kill "$pid" 2>/dev/null || continue
		slurm_wait_until 10 sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
	done
}
