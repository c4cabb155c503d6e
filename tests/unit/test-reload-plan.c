// SPDX-License-Identifier: GPL-2.0-or-later
/* Reload decisions: refusals, who is stopped how, module order, and the next rung. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/holders-stop.h"
#include "procedure/reload-plan.h"
#include "string-util.h"

static const char modules_text[] =
	"nvidia_peermem 16384 0 - Live 0x0 (OE)\n"
	"nvidia_uvm 1527808 0 - Live 0x0 (OE)\n"
	"nvidia_drm 73728 0 - Live 0x0 (OE)\n"
	"nvidia_modeset 1511424 1 nvidia_drm, Live 0x0 (OE)\n"
	"nvidia 54935552 21 nvidia_uvm,nvidia_peermem,nvidia_modeset, Live 0x0 (OE)\n";

static struct gk_holder holder(pid_t pid, const char *cgroup, const char *unit, char state)
{
	return (struct gk_holder){.pid = pid,
				  .state = state,
				  .unkillable = state == 'D',
				  .cgroup = (char *)cgroup,
				  .unit = (char *)unit};
}

static void test_plan(void **state)
{
	struct gk_holder hs[] = {
		holder(100, "/system.slice/gpukeepd.service", "gpukeepd.service", 'S'),
		holder(200, "/system.slice/nvidia-dcgm.service", "nvidia-dcgm.service", 'S'),
		holder(201, "/system.slice/nvidia-dcgm.service", "nvidia-dcgm.service", 'S'),
		holder(300, "/user.slice/user-1000.slice/session-4.scope", "session-4.scope", 'R'),
		holder(400, "/system.slice/docker-0123.scope", "docker-0123.scope", 'S'),
	};
	struct gk_holders h = {.holders = hs, .n = 5};
	static const char *const unload[] = {"nvidia_drm", "nvidia_modeset", "nvidia_peermem",
					     "nvidia_uvm", "nvidia"};
	struct gk_modlist mods;
	struct gk_reload_plan p;

	hs[4].container_id = (char *)"0123";
	assert_int_equal(modlist_parse_proc(modules_text, &mods, NULL), 0);
	assert_int_equal(reload_plan_make(&mods, &h, 100, true, &p), 0);
	assert_int_equal(p.refusal, GK_REFUSE_NONE);
	assert_int_equal(strv_length(p.units), 1);
	assert_string_equal(p.units[0], "nvidia-dcgm.service"); /* once, not per process */
	/* the one rule (holder_stop_how()): the session by signal, the container by its runtime */
	assert_int_equal(p.n_pids, 1);
	assert_int_equal(p.pids[0], 300);
	assert_int_equal(strv_length(p.containers), 1);
	assert_string_equal(p.containers[0], "crictl 0123");
	assert_int_equal(p.daemon_pid, 100); /* released, never killed */
	assert_int_equal(strv_length(p.unload), 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(p.unload[i], unload[i]);
		assert_string_equal(p.load[i], unload[4 - i]);
	}
	reload_plan_done(&p);

	/* without --kill: refused, because holders other than the daemon exist */
	assert_int_equal(reload_plan_make(&mods, &h, 100, false, &p), 0);
	assert_int_equal(p.refusal, GK_REFUSE_HOLDERS);
	reload_plan_done(&p);

	/* only the daemon holds the GPUs: no --kill needed */
	h.n = 1;
	assert_int_equal(reload_plan_make(&mods, &h, 100, false, &p), 0);
	assert_int_equal(p.refusal, GK_REFUSE_NONE);
	reload_plan_done(&p);

	/* a D-state holder wins over everything: the node needs a reboot */
	h.n = 5;
	hs[3].unkillable = true;
	assert_int_equal(reload_plan_make(&mods, &h, 100, true, &p), 0);
	assert_int_equal(p.refusal, GK_REFUSE_UNKILLABLE);
	reload_plan_done(&p);
	modlist_done(&mods);
}

/* Slurm without proctrack/cgroup: the job's processes sit in slurmd.service's cgroup. They are
 * signalled as the job they are; slurmd itself (holding NVML for its accounting) is the unit. */
static void test_slurm_job_in_slurmd_unit(void **state)
{
	struct gk_holder hs[] = {
		holder(500, "/system.slice/slurmd.service", "slurmd.service", 'S'),
		holder(501, "/system.slice/slurmd.service", "slurmd.service", 'S'),
		holder(502, "/system.slice/slurmd.service", "slurmd.service", 'R'),
	};
	struct gk_holders h = {.holders = hs, .n = 3};
	struct gk_modlist mods;
	struct gk_reload_plan p;

	hs[0].comm = (char *)"slurmd";
	hs[1].comm = (char *)"slurmstepd";
	/* hs[2]: a task whose name is not known */
	assert_int_equal(holder_stop_how(&hs[0], 0), GK_STOP_UNIT);
	assert_int_equal(holder_stop_how(&hs[1], 0), GK_STOP_SIGNAL);
	assert_int_equal(holder_stop_how(&hs[2], 0), GK_STOP_SIGNAL);

	/* in the plan: the job's two processes by signal; slurmd stopped (and started after) only
	 * because it holds a GPU itself */
	assert_int_equal(modlist_parse_proc(modules_text, &mods, NULL), 0);
	assert_int_equal(reload_plan_make(&mods, &h, 0, true, &p), 0);
	assert_int_equal(p.n_pids, 2);
	assert_int_equal(p.pids[0], 501);
	assert_int_equal(p.pids[1], 502);
	assert_int_equal(strv_length(p.units), 1);
	assert_string_equal(p.units[0], "slurmd.service");
	reload_plan_done(&p);
	/* the job alone: slurmd is not touched */
	h.holders = hs + 1;
	h.n = 2;
	assert_int_equal(reload_plan_make(&mods, &h, 0, true, &p), 0);
	assert_int_equal(p.n_pids, 2);
	assert_int_equal(strv_length(p.units), 0);
	reload_plan_done(&p);
	modlist_done(&mods);
}

static void test_no_driver(void **state)
{
	struct gk_modlist mods;
	struct gk_holders h = {};
	struct gk_reload_plan p;

	assert_int_equal(modlist_parse_proc("e1000e 1 0 - Live 0x0\n", &mods, NULL), 0);
	assert_int_equal(reload_plan_make(&mods, &h, 0, true, &p), 0);
	assert_int_equal(p.refusal, GK_REFUSE_NO_DRIVER);
	assert_int_equal(strv_length(p.unload), 0);
	reload_plan_done(&p);
	modlist_done(&mods);
}

static void test_next_rung(void **state)
{
	struct gk_difference link = {.kind = GK_DIFF_LINK}, unbound = {.kind = GK_DIFF_GPU_UNBOUND},
			     count = {.kind = GK_DIFF_GPU_COUNT},
			     gone = {.kind = GK_DIFF_GPU_MISSING},
			     module = {.kind = GK_DIFF_MODULE};
	struct gk_difference items[3];
	struct gk_differences d = {.items = items};

	assert_int_equal(reload_next_rung(&d, false), GK_RUNG_NONE);
	assert_int_equal(reload_next_rung(&d, true), GK_RUNG_REBOOT);
	items[0] = link;
	d.n = 1;
	assert_int_equal(reload_next_rung(&d, false), GK_RUNG_RESET);
	items[0] = count;
	items[1] = unbound;
	d.n = 2;
	assert_int_equal(reload_next_rung(&d, false), GK_RUNG_RESET);
	items[2] = gone;
	d.n = 3;
	assert_int_equal(reload_next_rung(&d, false), GK_RUNG_REBOOT);
	items[0] = module;
	d.n = 1;
	assert_int_equal(reload_next_rung(&d, false), GK_RUNG_REBOOT);
	/* a GPU's own node follows the GPU; the control node is the whole driver's */
	items[0] = (struct gk_difference){.kind = GK_DIFF_NODE, .object = (char *)"/dev/nvidia3"};
	assert_int_equal(reload_next_rung(&d, false), GK_RUNG_RESET);
	items[0] = (struct gk_difference){.kind = GK_DIFF_NODE, .object = (char *)"/dev/nvidiactl"};
	assert_int_equal(reload_next_rung(&d, false), GK_RUNG_REBOOT);
	items[0] = (struct gk_difference){.kind = GK_DIFF_NODE, .object = (char *)"/dev/nvidia"};
	assert_int_equal(reload_next_rung(&d, false), GK_RUNG_REBOOT);
	assert_string_equal(rung_to_string(GK_RUNG_RESET), "gpu-reset");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_slurm_job_in_slurmd_unit),
		cmocka_unit_test(test_no_driver),
		cmocka_unit_test(test_next_rung),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
