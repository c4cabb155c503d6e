// SPDX-License-Identifier: GPL-2.0-or-later
/* Output helpers shared by the verbs. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/gk-exit.h"
#include "output.h"

int output_json(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_SPACED |
								  JSON_C_TO_STRING_NOSLASHESCAPE);

	if (!s || puts(s) < 0 || fflush(stdout) != 0)
		return -EIO;
	return 0;
}

int usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gpukeep %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry 'gpukeep %s --help'\n", verb);
	return GK_EXIT_USAGE;
}

int parse_root_json_options(const char *verb, int argc, char **argv, void (*help)(void),
			    const char **root, bool *json)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "hr:j", opts, NULL)) >= 0) {
		switch (c) {
		case 'r':
			*root = optarg;
			break;
		case 'j':
			*json = true;
			break;
		case 'h':
			help();
			return GK_EXIT_OK;
		default:
			return usage_error(verb, "invalid option");
		}
	}
	if (optind < argc)
		return usage_error(verb, "unexpected argument '%s'", argv[optind]);
	return -1;
}
