// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep validate: is the node as its baseline says, before it goes back into the pool? */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "baseline/nvml-baseline.h"
#include "baseline/validate.h"
#include "core/gk-exit.h"
#include "log.h"
#include "node.h"
#include "nvml-cli.h"
#include "output.h"
#include "string-util.h"
#include "verbs.h"

#define DEFAULT_BASELINE "/etc/gpukeep/baseline.json"

static void validate_help(void)
{
	printf("usage: gpukeep validate [--baseline FILE] [--root DIR] [--json]\n\n"
	       "Checks the node against its baseline (see 'gpukeep baseline save'): the number of\n"
	       "GPUs bound to nvidia, each GPU's PCI address, binding, UUID, minor and PCIe link\n"
	       "(current width, maximum width and speed), the NVSwitches, nvidia's modules, the\n"
	       "device nodes and the driver version; with NVML, the NVLinks and, on NVSwitch\n"
	       "nodes, each GPU's fabric state (completed with success once the fabric manager\n"
	       "has trained it). Prints every difference.\n\n"
	       "  --baseline FILE  the baseline (default " DEFAULT_BASELINE ")\n"
	       "  --root DIR       read /sys, /proc and /dev under DIR (default /)\n"
	       "  --json           print JSON (schema gpukeep.validation, version 1)\n"
	       "  --nvml PATH      NVML library for the NVLinks (default $GPUKEEP_NVML, then\n"
	       "                   libnvidia-ml.so.1; 'none' leaves NVML out)\n"
	       "  -h, --help       show this help\n\n"
	       "exit codes: 0 the node matches, 1 it differs or could not be read, 2 usage or a\n"
	       "missing or malformed baseline\n");
}

/* The fabric of the node now, when NVML has one: "NVLink fabric: 8/8 GPU(s) completed". */
static void print_fabric(const struct gk_baseline *now)
{
	size_t ready, total;

	if (!now->nvml || fabric_verdict(now->nvml->fabric_gpus, now->nvml->n_fabric_gpus, &ready,
					 &total) == GK_FABRIC_NONE)
		return;
	printf("NVLink fabric: %zu/%zu GPU(s) completed with success\n", ready, total);
}

static int report(const char *path, const struct gk_baseline *want, const struct gk_baseline *now,
		  const struct gk_differences *d, bool json)
{
	struct json_object *o;
	int r;

	if (!json) {
		print_fabric(now);
		if (d->n == 0)
			printf("node matches baseline %s: %zu GPU(s), %zu NVSwitch(es), %zu "
			       "module(s), %zu device node(s)\n",
			       path, want->n_gpus, strv_length(want->nvswitches),
			       strv_length(want->modules), strv_length(want->device_nodes));
		else
			printf("node differs from baseline %s: %zu difference(s)\n", path, d->n);
		for (size_t i = 0; i < d->n; i++)
			printf("  %s: %s\n", d->items[i].object, d->items[i].message);
		return 0;
	}
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "schema", json_object_new_string("gpukeep.validation"));
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "baseline", json_object_new_string(path));
	json_object_object_add(o, "matches", json_object_new_boolean(d->n == 0));
	json_object_object_add(o, "differences", differences_to_json(d));
	json_object_object_add(
		o, "fabric",
		now->nvml ? fabric_to_json(now->nvml->fabric_gpus, now->nvml->n_fabric_gpus)
			  : NULL);
	r = output_json(o);
	json_object_put(o);
	return r;
}

int verb_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"baseline", required_argument, NULL, 'b'},
		{"root", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *root = "/", *path = DEFAULT_BASELINE;
	struct gk_baseline want, now;
	struct gk_differences d;
	bool json = false;
	int c, r;

	/* NVML is read by what this verb runs: --nvml reaches it through the environment */
	r = nvml_cli_take_option_env("validate", &argc, argv);
	if (r >= 0)
		return r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "hb:r:j", opts, NULL)) >= 0) {
		switch (c) {
		case 'b':
			path = optarg;
			break;
		case 'r':
			root = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			validate_help();
			return GK_EXIT_OK;
		default:
			return usage_error("validate", "invalid option");
		}
	}
	if (optind < argc)
		return usage_error("validate", "unexpected argument '%s'", argv[optind]);
	r = node_load_baseline(path, &want);
	if (r != 0)
		return r;
	r = node_baseline(root, &now, NULL);
	if (r != 0) {
		baseline_done(&want);
		return r;
	}
	r = validate_compare(&want, &now, &d);
	if (r >= 0) {
		r = report(path, &want, &now, &d, json);
		r = r < 0 ? r : d.n > 0 ? GK_EXIT_FAILED : GK_EXIT_OK;
		differences_done(&d);
	}
	baseline_done(&want);
	baseline_done(&now);
	if (r < 0) {
		log_error_errno(r, "cannot report the validation: %m");
		return GK_EXIT_FAILED;
	}
	return r;
}
