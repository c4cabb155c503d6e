// SPDX-License-Identifier: GPL-2.0-or-later
/* NVML around the reload, through the NVML helper process (nvml-helper.h) with a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baseline/nvml-baseline.h"
#include "core/gk-exit.h"
#include "macro.h"
#include "procedure/reload-steps.h"
#include "string-util.h"

#define SETTINGS_FILE "reload.settings.json"
#define NVLINKS_FILE  "reload.nvml-before.json"

static const char *helper_failure(int r)
{
	if (r == -ETIMEDOUT)
		return "NVML hung (driver not responding): the helper was killed after 60 s";
	if (r == GK_EXIT_PRECONDITION)
		return "NVML is not available";
	return "NVML failed or hung: 'gpukeep settings save FILE' shows why";
}

/* The NVLinks as the node has them now, from the helper's file. */
static void take_nvlinks(struct gk_engine *e)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_free_ char *error = NULL, *error2 = NULL;
	struct gk_baseline_nvml *b = NULL;
	struct json_object *o = NULL;

	if (json_parse_file_at(c->o->engine.state_dirfd, NVLINKS_FILE, GK_BASELINE_MAX_SIZE, &o,
			       &error) >= 0 &&
	    nvml_baseline_from_json(o, &b, &error2) >= 0) {
		nvml_baseline_free(c->rec.before.nvml);
		c->rec.before.nvml = b;
	}
	json_object_put(o);
	(void)unlinkat(c->o->engine.state_dirfd, NVLINKS_FILE, 0);
}

int reload_nvml_snapshot(struct gk_engine *e, char **ret_note)
{
	struct reload_ctx *c = reload_ctx(e);
	int r;

	if (!c->o->nvml) {
		*ret_note = strdup("NVML not used");
		return *ret_note ? 0 : -ENOMEM;
	}
	r = c->ops->nvml(c->ops->userdata, GK_NVML_NVLINKS, NVLINKS_FILE, NULL);
	if (r == 0)
		take_nvlinks(e);
	/* NVML not there for the NVLinks: not there for the settings either, and each helper
	 * run costs a process start and a library search */
	if (r != GK_EXIT_PRECONDITION)
		r = c->ops->nvml(c->ops->userdata, GK_NVML_SAVE, SETTINGS_FILE, NULL);
	if (r == -ENOMEM)
		return r;
	if (r != 0) {
		*ret_note = strdup_printf("NVML settings not saved (%s): they will not be restored",
					  helper_failure(r));
		return *ret_note ? 0 : -ENOMEM;
	}
	c->rec.settings_file = strdup(SETTINGS_FILE);
	*ret_note = strdup_printf("NVML settings saved%s",
				  c->rec.before.nvml ? ", NVLinks recorded" : "");
	return c->rec.settings_file && *ret_note ? 0 : -ENOMEM;
}

int reload_nvml_restore(struct gk_engine *e, char **ret_note)
{
	struct reload_ctx *c = reload_ctx(e);
	int r;

	if (!c->rec.settings_file) {
		*ret_note = strdup("no NVML settings to restore");
		return *ret_note ? 0 : -ENOMEM;
	}
	r = c->ops->nvml(c->ops->userdata, GK_NVML_RESTORE, c->rec.settings_file, NULL);
	if (r == 0) {
		*ret_note = strdup("NVML settings restored and checked");
		return *ret_note ? 0 : -ENOMEM;
	}
	c->res->next_rung = GK_RUNG_RESET;
	if (r == GK_EXIT_FAILED)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON,
				      "the driver is back but some NVML settings could not be "
				      "restored (see the settings report above); saved in %s/%s",
				      c->o->engine.state_dir, c->rec.settings_file);
	return engine_verdict(e, GK_EXIT_NEEDS_PERSON,
			      "the driver is back but the NVML settings were not restored: %s; "
			      "saved in %s/%s",
			      r < 0 && r != -ETIMEDOUT ? strerror(-r) : helper_failure(r),
			      c->o->engine.state_dir, c->rec.settings_file);
}
