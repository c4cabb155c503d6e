// SPDX-License-Identifier: GPL-2.0-or-later
/* scontrol/squeue output parsing, on lines captured from Slurm 22.05 (Debian 12). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sched/slurm-parse.h"

#define HEAD                                                                                       \
	"NodeName=vm Arch=x86_64 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=2 CPUTot=2 CPULoad=3.16 "   \
	"AvailableFeatures=(null) ActiveFeatures=(null) Gres=(null) NodeAddr=127.0.0.1 "           \
	"NodeHostName=vm Version=22.05.8 OS=Linux 6.18.44-fc-v1045 #1 SMP PREEMPT_DYNAMIC @0  "    \
	"RealMemory=500 AllocMem=0 FreeMem=22563 Sockets=2 Boards=1 "
#define TAIL                                                                                       \
	" ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A Partitions=gk  "             \
	"BootTime=2026-12-01T09:22:04 SlurmdStartTime=2026-12-01T09:55:17 "                        \
	"LastBusyTime=2026-12-01T09:55:18 CfgTRES=cpu=2,mem=500M,billing=2 AllocTRES= "            \
	"CapWatts=n/a CurrentWatts=0 AveWatts=0 ExtSensorsJoules=n/s ExtSensorsWatts=0 "           \
	"ExtSensorsTemp=n/s"

static void test_idle(void **state)
{
	struct gk_slurm_node n;

	assert_int_equal(slurm_parse_node(HEAD "State=IDLE" TAIL "\n", &n), 0);
	assert_string_equal(n.name, "vm");
	assert_string_equal(n.hostname, "vm");
	assert_string_equal(n.state, "IDLE");
	assert_int_equal(n.flags, 0);
	assert_string_equal(n.reason, "");
}

static void test_drained_with_reason(void **state)
{
	struct gk_slurm_node n;

	assert_int_equal(slurm_parse_node(HEAD "State=IDLE+DRAIN" TAIL
					       " Reason=gpukeep: Xid 79 on 0000:07:00.0, reload "
					       "[root@2026-12-01T09:55:18]\n",
					  &n),
			 0);
	assert_int_equal(n.flags, GK_SLURM_DRAIN);
	assert_string_equal(n.reason, "gpukeep: Xid 79 on 0000:07:00.0, reload");
}

static void test_reason_then_comment(void **state)
{
	struct gk_slurm_node n;

	/* Comment= follows the reason's trailer; a reason may hold '[' and "Key=" words */
	assert_int_equal(slurm_parse_node(HEAD "State=DOWN+DRAIN+REBOOT_ISSUED" TAIL
					       " Reason=fan [x] State=IDLE : reboot issued "
					       "[root@2026-12-01T09:55:43] Comment=hello world\n",
					  &n),
			 0);
	assert_string_equal(n.state, "DOWN+DRAIN+REBOOT_ISSUED");
	assert_int_equal(n.flags, GK_SLURM_DOWN | GK_SLURM_DRAIN | GK_SLURM_REBOOT_ISSUED);
	assert_string_equal(n.reason, "fan [x] State=IDLE : reboot issued");
}

static void test_reason_without_trailer(void **state)
{
	struct gk_slurm_node n;

	assert_int_equal(slurm_parse_node("NodeName=n1 State=MIXED+DRAIN Reason=by hand", &n), 0);
	assert_string_equal(n.reason, "by hand");
	assert_int_equal(n.flags, GK_SLURM_BUSY | GK_SLURM_DRAIN);
	assert_string_equal(n.hostname, "");
}

static void test_malformed(void **state)
{
	struct gk_slurm_node n = {.flags = 77};
	char big[1024];

	assert_int_equal(slurm_parse_node("", &n), -EPROTO);
	assert_int_equal(slurm_parse_node("Node vm not found", &n), -EPROTO);
	assert_int_equal(slurm_parse_node("NodeName=vm Arch=x86_64", &n), -EPROTO);
	/* State= only inside the reason does not count */
	assert_int_equal(slurm_parse_node("NodeName=vm Reason=x State=IDLE", &n), -EPROTO);
	/* empty values (found by fuzz-slurm) */
	assert_int_equal(slurm_parse_node("NodeName= SMP State=IDLE+DRAIN Reason=g", &n), -EPROTO);
	assert_int_equal(slurm_parse_node("NodeName=vm State= Reason=g", &n), -EPROTO);
	/* NodeNameX= is another key */
	assert_int_equal(slurm_parse_node("NodeNameX=vm State=IDLE", &n), -EPROTO);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "NodeName=", 9);
	assert_int_equal(slurm_parse_node(big, &n), -ENAMETOOLONG);
	assert_int_equal(n.flags, 77); /* untouched on failure */
}

static void test_state_flags(void **state)
{
	assert_int_equal(slurm_state_flags("IDLE"), 0);
	assert_int_equal(slurm_state_flags("ALLOCATED+DRAIN"), GK_SLURM_BUSY | GK_SLURM_DRAIN);
	assert_int_equal(slurm_state_flags("DOWN*+DRAIN"),
			 GK_SLURM_DOWN | GK_SLURM_NOT_RESPONDING | GK_SLURM_DRAIN);
	assert_int_equal(slurm_state_flags("IDLE+DRAIN+REBOOT_REQUESTED"),
			 GK_SLURM_DRAIN | GK_SLURM_REBOOT_REQUESTED);
	assert_int_equal(slurm_state_flags("IDLE+NOT_RESPONDING"), GK_SLURM_NOT_RESPONDING);
	assert_int_equal(slurm_state_flags("IDLE+DRAINX"), 0);
	assert_int_equal(slurm_state_flags("+"), 0);
}

static void test_jobs(void **state)
{
	char *ids = NULL;

	assert_int_equal(slurm_parse_jobs("", &ids), 0);
	assert_null(ids);
	assert_int_equal(slurm_parse_jobs("12\n 13 \n\n14_2\n15+1\n", &ids), 4);
	assert_string_equal(ids, "12,13,14_2,15+1");
	free(ids);
	assert_int_equal(slurm_parse_jobs("12\n", NULL), 1);
	assert_int_equal(slurm_parse_jobs("12\nJOBID\n", &ids), -EPROTO);
	assert_int_equal(slurm_parse_jobs("12_\n", NULL), -EPROTO);
	assert_int_equal(slurm_parse_jobs("12;rm\n", NULL), -EPROTO);
}

static void test_classify(void **state)
{
	assert_int_equal(slurm_classify_failure(0, "anything"), 0);
	assert_int_equal(slurm_classify_failure(1, "slurm_load_node error: Unable to contact "
						   "slurm controller (connect failure)\n"),
			 -EHOSTUNREACH);
	assert_int_equal(slurm_classify_failure(1, "Node nosuch not found\n"), -ENOENT);
	assert_int_equal(
		slurm_classify_failure(1, "slurm_update error: Invalid node name specified\n"),
		-ENOENT);
	assert_int_equal(slurm_classify_failure(1, "Access/permission denied\n"), -EACCES);
	assert_int_equal(slurm_classify_failure(1, "something else\n"), -EIO);
	assert_int_equal(slurm_classify_failure(137, ""), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_drained_with_reason),
		cmocka_unit_test(test_reason_then_comment),
		cmocka_unit_test(test_reason_without_trailer),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_state_flags),
		cmocka_unit_test(test_jobs),
		cmocka_unit_test(test_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
