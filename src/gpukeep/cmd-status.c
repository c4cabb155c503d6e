// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep status: per GPU, the persistence mode, who keeps the GPU initialized, and whether the
 * daemon could open it; read from gpukeepd. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/gk-exit.h"
#include "daemon-call.h"
#include "daemon/protocol.h"
#include "macro.h"
#include "nvpd-cli.h"
#include "output.h"
#include "verbs.h"

static void status_help(void)
{
	printf("usage: gpukeep status [--socket PATH] [--json]\n\n"
	       "Asks gpukeepd for every GPU's persistence mode, the state of the device file it\n"
	       "holds (held, released, opening, retrying, stuck, unavailable), who keeps the GPU\n"
	       "initialized, and any open error.\n\n"
	       "  --socket PATH  the daemon's socket (default %s)\n"
	       "  --json         print JSON (schema gpukeep.status, version 1)\n"
	       "  -h, --help     show this help\n\n"
	       "exit codes: 0 read, 1 the daemon is not running or failed, 2 usage\n",
	       GK_SOCKET_PATH);
}

static const char *get_str(struct json_object *o, const char *key, const char *def)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return def;
	return json_object_get_string(v);
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static void print_gpu(struct json_object *g)
{
	struct json_object *dev = get(g, "device");
	struct json_object *init = get(g, "initialized");
	const char *err = dev ? get_str(dev, "error", NULL) : NULL;
	const char *why = get_str(g, "unavailable", NULL);

	printf("  %-3s %-12s %-5s %-40s %-11s %-11s %-9s %s\n", get_str(g, "index", "-"),
	       get_str(g, "pci", "-"), get_str(g, "minor", "-"), get_str(g, "uuid", "-"),
	       json_object_get_boolean(get(g, "persistence")) ? "on" : "off",
	       get_str(g, "state", "-"), get_str(g, "kept_by", "-"),
	       init ? (json_object_get_boolean(init) ? "yes" : "no") : "unknown");
	if (why || err)
		printf("      %s\n", why ? why : err);
}

static void print_text(struct json_object *status, struct json_object *list)
{
	struct json_object *d = get(status, "daemon"), *gpus = get(list, "gpus");
	size_t n = gpus ? json_object_array_length(gpus) : 0;

	printf("gpukeepd %s, pid %s, socket %s: %s GPUs, %s held, %s stuck, %s retrying\n",
	       get_str(d, "version", "?"), get_str(d, "pid", "?"), get_str(d, "socket", "?"),
	       get_str(d, "gpus", "?"), get_str(d, "held", "?"), get_str(d, "stuck", "?"),
	       get_str(d, "retrying", "?"));
	if (json_object_get_boolean(get(list, "released_all")))
		printf("every device file is released on request (release-all): no GPU is kept\n");
	if (n == 0)
		return;
	printf("  %-3s %-12s %-5s %-40s %-11s %-11s %-9s %s\n", "IDX", "PCI", "MINOR", "UUID",
	       "PERSISTENCE", "STATE", "KEPT BY", "INITIALIZED");
	for (size_t i = 0; i < n; i++)
		print_gpu(json_object_array_get_idx(gpus, i));
}

static int print_json(struct json_object *status, struct json_object *list)
{
	struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return GK_EXIT_FAILED;
	json_object_object_add(o, "schema", json_object_new_string("gpukeep.status"));
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "daemon", json_object_get(get(status, "daemon")));
	json_object_object_add(o, "released_all", json_object_get(get(list, "released_all")));
	json_object_object_add(o, "gpus", json_object_get(get(list, "gpus")));
	r = output_json(o);
	json_object_put(o);
	return r < 0 ? GK_EXIT_FAILED : GK_EXIT_OK;
}

static int query(const char *socket_path, enum gk_req_type t, struct json_object **ret)
{
	return daemon_call("status", socket_path, t, NULL, -1, ret);
}

int verb_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct json_object *status = NULL, *list = NULL;
	const char *socket_path = GK_SOCKET_PATH;
	bool json = false;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "hs:j", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			status_help();
			return GK_EXIT_OK;
		default:
			return usage_error("status", "invalid option");
		}
	}
	if (optind < argc)
		return usage_error("status", "unexpected argument '%s'", argv[optind]);
	if (nvpd_cli_wanted(socket_path)) /* NVIDIA's daemon instead of gpukeepd */
		return nvpd_cli_status(json);
	r = query(socket_path, GK_REQ_STATUS, &status);
	if (r == GK_EXIT_OK)
		r = query(socket_path, GK_REQ_LIST, &list);
	if (r == GK_EXIT_OK && json)
		r = print_json(status, list);
	else if (r == GK_EXIT_OK)
		print_text(status, list);
	json_object_put(status);
	json_object_put(list);
	return r;
}
