#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeepd on the simulated node's real character devices: it initializes the GPUs in parallel
# and keeps them initialized across short jobs (the fake driver's init counter does not move);
# gpukeep pm 0/1 lets the driver tear a GPU down and brings it back; a wedged GPU leaves the
# daemon's open in D state, the GPU is reported stuck while the others stay held and the socket
# answers, and it is held once the GPU recovers; SIGTERM releases everything.
# shellcheck disable=SC2016 # guest commands and awk programs: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare
e2e_need_gpukeep
if [ ! -x "$E2E_BUILD/src/gpukeepd/gpukeepd" ]; then
	echo "Bail out! $E2E_BUILD/src/gpukeepd/gpukeepd is not built (build the project first)"
	exit 1
fi

INIT_MS=1200
boot pm --gpus 3 --init-ms "$INIT_MS" -- '
D=/sys/kernel/debug/nvidia_sim
mkdir -p /var/run /var/lib
echo 1 >$D/gpu2/wedged
# settled FILE: gpukeep status --json into FILE until no open is in flight (at most 10 s).
settled() {
	i=0
	while [ $i -lt 100 ]; do
		gpukeep status --json >"$1" 2>/dev/null && ! grep -q "\"opening\"" "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
nvsim-open now >/out/t0
gpukeepd --foreground --open-timeout 2 2>/out/gkd.log & echo $! >/out/gkd.pid
# Both healthy GPUs initialized: at most a little over one init_ms if the opens are parallel.
i=0
while [ $i -lt 100 ]; do
	[ "$(cat $D/gpu0/initialized)$(cat $D/gpu1/initialized)" = 11 ] && break
	sleep 0.05
	i=$((i + 1))
done
nvsim-open now >/out/t1
settled /out/status0.json; echo $? >/out/settled0.rc
gpukeep status >/out/status0.txt 2>&1
cat $D/gpu0/init_count >/out/init_a
nvsim-open time -n 5 /dev/nvidia0 >/out/jobs.ms
cat $D/gpu0/init_count >/out/init_b
gpukeep pm -i 0 0 >/out/pm0.out 2>&1; echo $? >/out/pm0.rc
cat $D/gpu0/initialized >/out/initialized_off
cat $D/gpu1/initialized >/out/initialized_other
gpukeep pm -i minor:0 1 >/out/pm1.out 2>&1; echo $? >/out/pm1.rc
cat $D/gpu0/initialized >/out/initialized_on
cat $D/gpu0/init_count >/out/init_c
echo 0 >$D/gpu2/wedged
i=0
while [ $i -lt 50 ]; do
	[ "$(cat $D/gpu2/users)" = 1 ] && break
	sleep 0.1
	i=$((i + 1))
done
settled /out/status1.json
kill -TERM "$(cat /out/gkd.pid)"; wait "$(cat /out/gkd.pid)"; echo $? >/out/gkd.rc
for g in 0 1 2; do cat $D/gpu$g/initialized; done | tr -d "\n" >/out/initialized_after
ls /var/run/gpukeep >/out/runtime.ls 2>&1
cat /var/lib/gpukeep/persistence.json >/out/state.json
'

v() { tr -d '[:space:]' <"$E2E_TMP/pm/$1"; }
check "the guest command succeeded" same "$(cat "$E2E_TMP/pm.rc")" 0
sed 's/^/# gkd: /' "$E2E_TMP/pm/gkd.log" 2>/dev/null | head -40
T0=$(v t0)
T1=$(v t1)
echo "# both healthy GPUs initialized $(awk -v a="$T0" -v b="$T1" 'BEGIN { print b - a }') ms after start (init_ms $INIT_MS)"
check "the two healthy GPUs were initialized in parallel (under 2 x init_ms)" \
	awk -v a="$T0" -v b="$T1" -v m="$INIT_MS" 'BEGIN { exit !(b - a < 2 * m) }'
check "start-up settled" same "$(v settled0.rc)" 0
pcheck pm "status: GPUs 0 and 1 held, GPU 2 (wedged) stuck" \
	'[g["state"] for g in j("status0.json")["gpus"]] == ["held", "held", "stuck"]'
pcheck pm "status: the stuck GPU says why" \
	'"stuck" in j("status0.json")["gpus"][2]["device"]["error"]'
pcheck pm "status text names the stuck GPU" '"1 stuck" in out.text("status0.txt")'
check "the daemon's open initialized GPU 0 once" same "$(v init_a)" 1
check "5 short jobs on GPU 0 do not initialize it again" same "$(v init_b)" 1
check "each short job opens fast (under a third of init_ms)" \
	awk -v m="$INIT_MS" '$1 >= m / 3 { bad = 1 } END { exit bad || NR != 5 }' "$E2E_TMP/pm/jobs.ms"
check "gpukeep pm -i 0 0 succeeded" same "$(v pm0.rc)" 0
check "... and the driver tore GPU 0 down" same "$(v initialized_off)" 0
check "... GPU 1 stayed initialized" same "$(v initialized_other)" 1
check "gpukeep pm -i minor:0 1 succeeded" same "$(v pm1.rc)" 0
check "... GPU 0 initialized again" same "$(v initialized_on)" 1
check "... which cost one more initialization" same "$(v init_c)" 2
pcheck pm "the wedged GPU is held once it recovers" \
	'[g["state"] for g in j("status1.json")["gpus"]] == ["held", "held", "held"]'
check "SIGTERM: the daemon exits 0" same "$(v gkd.rc)" 0
check "SIGTERM: every GPU released and torn down" same "$(v initialized_after)" 000
check "SIGTERM: socket and pid file removed" same "$(v runtime.ls)" ""
pcheck pm "the state file remembers GPU 0 on" \
	'any(e["persistence"] for e in j("state.json")["gpus"])'
e2e_done
