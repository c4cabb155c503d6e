#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpukeep watch and the reset rung on the simulated node (needs 'gpukeep reset -i GPU [--kill]
# [--json]', issue 9).
# Xid 119 on one GPU resets that GPU while a job on another keeps running; with fail_reset the
# reset leaves the GPU lost, so the watcher climbs to the reload, which brings it back; with the
# next load made to fail as well (a probe failure for that GPU), it climbs on to rung 3 (the
# reboot command replaced by one that records its call); Xid 79 with the site's policy asking
# for a reset first; the same Xid again after a successful reset escalates to the reload; the
# circuit breaker stops the second action when the budget is one.
# shellcheck disable=SC2016 # guest commands: single quotes on purpose
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_prepare
e2e_need_gpukeep

CATALOG=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' \
	"$E2E_SRC/data/xid-catalog.json")
SETUP="
cat >/tmp/xid-catalog.json <<'EOF_CATALOG'
$CATALOG
EOF_CATALOG
"'
D=/sys/kernel/debug/nvidia_sim
# config NAME [MEMBERS]: /tmp/NAME.json with the reboot command recording into /out/NAME.reboot
config() {
	cat >/tmp/$1.json <<EOF_CONFIG
{"debounce_ms": 500, "validate_period_s": 0, "probe_period_s": 0,
 "pattern": {"reset_gpus": 9}${2:+, $2},
 "rungs": {"reload": {"command": ["gpukeep", "reload", "--kill", "--grace", "2", "--json"]},
           "reboot": {"command": ["/bin/sh", "-c", "echo reboot >>/out/$1.reboot"]}}}
EOF_CONFIG
}
# W NAME [OPTIONS]: one --once run with its own state directory
W() { n=$1; shift; gpukeep watch --once --config /tmp/$n.json --catalog /tmp/xid-catalog.json --state-dir /var/lib/gk-$n --textfile-dir /out "$@"; }
loads() { dmesg | grep -c "NVRM: loading NVIDIA"; }
resets() { cat $D/gpu$1/reset_count; }
results() { grep -o "\"type\":\"action-ended\",[^}]*\"rung\":\"[a-z]*\"" /var/lib/gk-$1/events.log | sed "s/.*\"rung\":\"//; s/\"//" | tr "\n" " "; }
'

boot reset --gpus 3 --init-ms 50 --timeout 400 -- "$SETUP"'
# seed NAME [MEMBERS]: the case'"'"'s config, and a first run just before the case: every record
# already in the log (the earlier cases'"'"' faults included) is history to that watcher
seed() { config "$@"; W $1 >/dev/null 2>&1; }
# the healthy node, to put the driver back against (a reload validates against the node as it
# was before it, which is not what the earlier cases left)
gpukeep baseline save /tmp/healthy.json >/dev/null 2>&1

# Xid 119 on GPU 1 while a job holds GPU 0
sleep 600 </dev/nvidia0 & JOB=$!
seed one
r0=$(resets 0); r1=$(resets 1)
echo "119" >$D/gpu1/xid
W one --act >/out/one.txt 2>&1; echo $? >/out/one.rc
echo "$(($(resets 0) - r0)) $(($(resets 1) - r1))" >/out/one.resets
kill -0 $JOB && echo alive >/out/one.job || echo gone >/out/one.job
results one >/out/one.results

# fail_reset: the reset loses the GPU, the reload brings it back
seed climb
l0=$(loads)
echo 1 >$D/gpu1/fail_reset
echo "119" >$D/gpu1/xid
W climb --act >/out/climb.txt 2>&1; echo $? >/out/climb.rc
echo 0 >$D/gpu1/fail_reset
echo $(($(loads) - l0)) >/out/climb.loads
cat $D/gpu1/lost >/out/climb.lost
results climb >/out/climb.results

# ... and with the next load failing as well: on to rung 3
BDF=$(sed -n "s/^bus_id: //p" $D/gpu1/info)
cp /etc/modprobe.d/nvsim.conf /tmp/nvsim.conf.orig
echo "options nvidia fail_probe=$BDF" >>/etc/modprobe.d/nvsim.conf
seed reboot
echo 1 >$D/gpu1/fail_reset
echo "119" >$D/gpu1/xid
W reboot --act >/out/reboot.txt 2>&1; echo $? >/out/reboot.rc
echo 0 >$D/gpu1/fail_reset 2>/dev/null || true
cp /tmp/nvsim.conf.orig /etc/modprobe.d/nvsim.conf
cat /out/reboot.reboot >/out/reboot.calls 2>&1
results reboot >/out/reboot.results
# put the driver back for the next cases
kill $JOB 2>/dev/null; wait $JOB 2>/dev/null
gpukeep reload --kill --grace 2 --baseline /tmp/healthy.json >/out/restore.txt 2>&1; echo $? >/out/restore.rc
nvsim-mknod >/dev/null 2>&1

# Xid 79 with the site asking for a reset first: a good reset brings the GPU back
seed site "\"overrides\": {\"79\": \"RESET_GPU\"}"
r2=$(resets 2)
echo 1 >$D/gpu2/lost
W site --act >/out/site.txt 2>&1; echo $? >/out/site.rc
echo $(($(resets 2) - r2)) >/out/site.resets
cat $D/gpu2/lost >/out/site.lost
test -e /out/site.reboot && echo yes >/out/site.rebooted || echo no >/out/site.rebooted
results site >/out/site.results

# the same Xid again after a successful reset: the reload
seed again
echo "119" >$D/gpu0/xid
W again --act >/out/again1.txt 2>&1
sleep 1
echo "119" >$D/gpu0/xid
W again --act >/out/again2.txt 2>&1; echo $? >/out/again.rc
results again >/out/again.results

# budget of one action: the second fault is blocked
seed breaker "\"breaker\": {\"max_actions\": 1}"
echo "119" >$D/gpu0/xid
W breaker --act >/dev/null 2>&1
sleep 1
echo "119" >$D/gpu2/xid
W breaker --act >/out/breaker.txt 2>&1; echo $? >/out/breaker.rc
results breaker >/out/breaker.results
grep -c "\"guard\":\"circuit-breaker\"" /var/lib/gk-breaker/events.log >/out/breaker.guards
'

v() { tr -d '\n' <"$E2E_TMP/reset/$1"; }
check "the guest command succeeded" same "$(cat "$E2E_TMP/reset.rc")" 0
check "Xid 119 on GPU 1: the watcher exits 0" same "$(v one.rc)" 0
check "... GPU 1 was reset, GPU 0 was not" same "$(v one.resets)" "0 1"
check "... and the job on GPU 0 kept running" same "$(v one.job)" alive
check "... one action: the reset" same "$(v one.results)" "reset "
check "fail_reset: reset, then the reload" same "$(v climb.results)" "reset reload "
check "... which loaded the driver once and brought GPU 1 back" same "$(v climb.loads)/$(v climb.lost)" 1/0
check "... exit 0" same "$(v climb.rc)" 0
check "the next load failing too: reset, reload, then rung 3" same "$(v reboot.results)" "reset reload reboot "
check "... the reboot command ran once, exit 4" same "$(v reboot.calls)/$(v reboot.rc)" reboot/4
check "the driver was put back" same "$(v restore.rc)" 0
# a GPU that fell off the bus is reset by remove and rescan: no function reset is counted, so
# the rung's own record says that one reset ran and succeeded (exit 0)
check "Xid 79, site policy reset first: one reset, the GPU back, no reboot" \
	same "$(v site.results)/$(v site.rc)/$(v site.lost)/$(v site.rebooted)" "reset /0/0/no"
check "... exit 0" same "$(v site.rc)" 0
check "the same Xid again after a successful reset: reset, then the reload" \
	same "$(v again.results)" "reset reload "
check "breaker with a budget of one: one reset, the second blocked" \
	same "$(v breaker.results)/$(v breaker.guards)/$(v breaker.rc)" "reset /1/4"
e2e_done
