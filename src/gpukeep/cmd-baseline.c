// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep baseline save FILE: records what the node looks like when it is known to be good. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/gk-exit.h"
#include "fileio.h"
#include "log.h"
#include "node.h"
#include "nvml-cli.h"
#include "output.h"
#include "string-util.h"
#include "verbs.h"

static void baseline_help(void)
{
	printf("usage: gpukeep baseline save FILE [--root DIR]\n"
	       "       gpukeep baseline show FILE\n\n"
	       "save writes the node's expected configuration to FILE (JSON, schema\n"
	       "gpukeep.baseline): every GPU with its PCI address, binding, UUID, minor and PCIe\n"
	       "link, the NVSwitches, nvidia's modules, the device nodes and the driver version.\n"
	       "'gpukeep validate --baseline FILE' checks a node against it. Save it when the\n"
	       "node is known to be good. show checks FILE and prints it.\n\n"
	       "  --root DIR  read /sys, /proc and /dev under DIR (default /)\n"
	       "  --nvml PATH NVML library for the NVLinks (default $GPUKEEP_NVML, then\n"
	       "              libnvidia-ml.so.1; 'none' leaves NVML out)\n"
	       "  -h, --help  show this help\n\n"
	       "exit codes: 0 done, 1 the node could not be read or FILE not written, 2 usage or\n"
	       "a malformed FILE\n");
}

static int baseline_save_file(const char *root, const char *path)
{
	struct gk_baseline b;
	struct json_object *o;
	size_t problems = 0;
	const char *text;
	int r;

	r = node_baseline(root, &b, &problems);
	if (r != 0)
		return r;
	o = baseline_to_json(&b);
	text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE)
		 : NULL;
	r = text ? write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644) : -ENOMEM;
	if (r >= 0)
		printf("baseline saved to %s: %zu GPU(s), %zu NVSwitch(es), %zu module(s), %zu "
		       "device node(s)\n",
		       path, b.n_gpus, strv_length(b.nvswitches), strv_length(b.modules),
		       strv_length(b.device_nodes));
	json_object_put(o);
	baseline_done(&b);
	if (r < 0) {
		log_error_errno(r, "cannot write baseline %s: %m", path);
		return GK_EXIT_FAILED;
	}
	if (problems > 0)
		log_warning("the node has %zu problem(s) now (see 'gpukeep inventory'): the "
			    "baseline records them as expected",
			    problems);
	return GK_EXIT_OK;
}

static int baseline_show_file(const char *path)
{
	struct gk_baseline b;
	struct json_object *o;
	int r;

	r = node_load_baseline(path, &b);
	if (r != 0)
		return r;
	o = baseline_to_json(&b);
	r = o ? output_json(o) : -ENOMEM;
	json_object_put(o);
	baseline_done(&b);
	return r < 0 ? GK_EXIT_FAILED : GK_EXIT_OK;
}

int verb_baseline(int argc, char **argv)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *root = "/";
	int c, r;

	/* NVML is read by what this verb runs: --nvml reaches it through the environment */
	r = nvml_cli_take_option_env("baseline", &argc, argv);
	if (r >= 0)
		return r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "hr:", opts, NULL)) >= 0) {
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'h':
			baseline_help();
			return GK_EXIT_OK;
		default:
			return usage_error("baseline", "invalid option");
		}
	}
	if (argc - optind != 2)
		return usage_error("baseline", "expected 'save FILE' or 'show FILE'");
	if (streq(argv[optind], "save"))
		return baseline_save_file(root, argv[optind + 1]);
	if (streq(argv[optind], "show"))
		return baseline_show_file(argv[optind + 1]);
	return usage_error("baseline", "unknown action '%s' (expected save or show)", argv[optind]);
}
