// SPDX-License-Identifier: GPL-2.0-or-later
/* Output helpers shared by the verbs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "gk-exit.h"
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
