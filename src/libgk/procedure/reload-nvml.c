// SPDX-License-Identifier: GPL-2.0-or-later
/* NVML around the reload, through `gpukeep baseline save` and `gpukeep settings save|restore`
 * run as helper processes with a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baseline/nvml-baseline.h"
#include "core/gk-exit.h"
#include "macro.h"
#include "procedure/reload-nvml.h"
#include "spawn-util.h"
#include "string-util.h"

#define SETTINGS_FILE	  "reload.settings.json"
#define BEFORE_FILE	  "reload.nvml-before.json"
#define HELPER_TIMEOUT_MS 60000

static int helper(struct reload_ctx *c, const char *verb, const char *action, const char *file,
		  bool show)
{
	_cleanup_free_ char *path = strdup_printf("%s/%s", c->o->state_dir, file);
	char *argv[] = {(char *)c->o->self_exe, (char *)verb, (char *)action, path, "--root",
			(char *)c->o->root,	NULL};

	if (!path)
		return -ENOMEM;
	if (streq(verb, "settings")) /* settings reads NVML only, not the node's files */
		argv[4] = NULL;
	return spawn_wait_timeout(argv,
				  show ? (c->o->json ? SPAWN_STDOUT_TO_STDERR : 0) : SPAWN_QUIET,
				  HELPER_TIMEOUT_MS);
}

static const char *helper_failure(int r)
{
	if (r == -ETIMEDOUT)
		return "NVML hung (driver not responding): the helper was killed after 60 s";
	if (r == GK_EXIT_PRECONDITION)
		return "NVML is not available";
	return "NVML failed or hung: 'gpukeep settings save FILE' shows why";
}

/* The NVLinks as the node has them now, taken from a baseline saved by the helper. */
static void take_nvlinks(struct reload_ctx *c)
{
	struct gk_baseline b = {};

	if (baseline_load(c->o->state_dirfd, BEFORE_FILE, &b, NULL) >= 0 && b.nvml) {
		nvml_baseline_free(c->j->before.nvml);
		c->j->before.nvml = TAKE_PTR(b.nvml);
	}
	baseline_done(&b);
	(void)unlinkat(c->o->state_dirfd, BEFORE_FILE, 0);
}

int reload_nvml_snapshot(struct reload_ctx *c, char **ret_note)
{
	int r;

	if (!c->o->self_exe) {
		*ret_note = strdup("NVML not used");
		return *ret_note ? 0 : -ENOMEM;
	}
	r = helper(c, "baseline", "save", BEFORE_FILE, false);
	if (r == 0)
		take_nvlinks(c);
	r = helper(c, "settings", "save", SETTINGS_FILE, false);
	if (r == -ENOMEM)
		return r;
	if (r != 0) {
		*ret_note = strdup_printf("NVML settings not saved (%s): they will not be restored",
					  helper_failure(r));
		return *ret_note ? 0 : -ENOMEM;
	}
	c->j->settings_file = strdup(SETTINGS_FILE);
	*ret_note = strdup_printf("NVML settings saved%s",
				  c->j->before.nvml ? ", NVLinks recorded" : "");
	return c->j->settings_file && *ret_note ? 0 : -ENOMEM;
}

int reload_nvml_restore(struct reload_ctx *c, char **ret_note)
{
	int r;

	if (!c->j->settings_file) {
		*ret_note = strdup("no NVML settings to restore");
		return *ret_note ? 0 : -ENOMEM;
	}
	r = helper(c, "settings", "restore", c->j->settings_file, true);
	if (r == 0) {
		*ret_note = strdup("NVML settings restored and checked");
		return *ret_note ? 0 : -ENOMEM;
	}
	c->res->next_rung = GK_RUNG_RESET;
	if (r == GK_EXIT_FAILED)
		return reload_verdict(c, GK_EXIT_NEEDS_PERSON,
				      "the driver is back but some NVML settings could not be "
				      "restored (see the settings report above); saved in %s/%s",
				      c->o->state_dir, c->j->settings_file);
	return reload_verdict(c, GK_EXIT_NEEDS_PERSON,
			      "the driver is back but the NVML settings were not restored: %s; "
			      "saved in %s/%s",
			      r < 0 && r != -ETIMEDOUT ? strerror(-r) : helper_failure(r),
			      c->o->state_dir, c->j->settings_file);
}
