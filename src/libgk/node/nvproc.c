// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/driver/nvidia parsers. The driver separates keys and values with tabs and pads keys
 * inconsistently ("Model: \t\t ", "GPU Excluded:\t "), so split at the first ':' and trim. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "node/nvproc.h"
#include "parse-util.h"
#include "string-util.h"

void nvinfo_done(struct gk_nvinfo *info)
{
	free(info->model);
	free(info->uuid);
	free(info->vbios);
	free(info->bus_type);
	free(info->firmware);
	*info = (struct gk_nvinfo){};
}

static int set_string(char **field, const char *value)
{
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

static int parse_yes_no(const char *value, int *ret)
{
	if (streq(value, "Yes"))
		*ret = 1;
	else if (streq(value, "No"))
		*ret = 0;
	else
		return -EBADMSG;
	return 0;
}

static bool uuid_valid(const char *s)
{
	/* GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx; MIG instances use MIG- but never appear here */
	static const char pattern[] = "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof(pattern) - 1)
		return false;
	for (size_t i = 0; i < sizeof(pattern) - 1; i++)
		if (pattern[i] == 'x' ? !isxdigit((unsigned char)s[i]) : s[i] != pattern[i])
			return false;
	return true;
}

static const char *field_name(const char *key)
{
	static const char *const known[] = {"Model",	   "GPU UUID",	   "Video BIOS",
					    "Bus Type",	   "GPU Firmware", "GPU Excluded",
					    "Blacklisted", "Bus Location", "Device Minor"};

	for (size_t i = 0; i < ELEMENTSOF(known); i++)
		if (streq(key, known[i]))
			return known[i];
	return "unknown";
}

static int parse_field(struct gk_nvinfo *info, const char *key, const char *value)
{
	unsigned u;

	if (streq(key, "Model"))
		return set_string(&info->model, value);
	if (streq(key, "GPU UUID"))
		return uuid_valid(value) ? set_string(&info->uuid, value) : -EBADMSG;
	if (streq(key, "Video BIOS"))
		return set_string(&info->vbios, value);
	if (streq(key, "Bus Type"))
		return set_string(&info->bus_type, value);
	if (streq(key, "GPU Firmware"))
		return set_string(&info->firmware, value);
	if (streq(key, "GPU Excluded") || streq(key, "Blacklisted"))
		return parse_yes_no(value, &info->excluded);
	if (streq(key, "Bus Location")) {
		if (pci_addr_parse(value, false, &info->bus_location) < 0)
			return -EBADMSG;
		info->has_bus_location = true;
		return 0;
	}
	if (streq(key, "Device Minor")) {
		/* 0..253 for GPUs: 254 and 255 belong to nvidia-modeset and nvidiactl */
		if (safe_atou_base(value, 10, &u) < 0 || u > 253)
			return -EBADMSG;
		info->minor = (int)u;
	}
	return 0;
}

int nvinfo_parse(const char *text, struct gk_nvinfo *ret, const char **ret_error)
{
	_cleanup_free_ char *copy = strdup(text);
	struct gk_nvinfo info = {.minor = -1, .excluded = -1};
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		const char *key, *value;
		int r;

		if (!colon)
			continue;
		*colon = 0;
		key = strstrip(line);
		value = strstrip(colon + 1);
		r = parse_field(&info, key, value);
		if (r < 0) {
			nvinfo_done(&info);
			/* @key points into our copy: hand out a static name */
			if (ret_error)
				*ret_error = r == -EBADMSG ? field_name(key) : "memory";
			return r;
		}
	}
	if (info.minor < 0) {
		nvinfo_done(&info);
		if (ret_error)
			*ret_error = "Device Minor";
		return -EBADMSG;
	}
	*ret = info;
	return 0;
}

/* A version looks like 535.261.03 or 570.86: digits and at least one dot. */
static size_t version_token_len(const char *s)
{
	size_t n = 0, dots = 0;

	while (isdigit((unsigned char)s[n]) || s[n] == '.') {
		dots += s[n] == '.';
		n++;
	}
	if (n == 0 || dots == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	if (s[n] && !isspace((unsigned char)s[n]))
		return 0;
	return n;
}

int nvversion_parse(const char *text, char **ret)
{
	const char *line = strstr(text, "NVRM version:");
	const char *end, *p;

	if (!line)
		return -EBADMSG;
	end = strchrnul(line, '\n');
	for (p = line + strlen("NVRM version:"); p < end; p++) {
		size_t n;

		if (p[-1] != ' ' && p[-1] != '\t')
			continue;
		n = version_token_len(p);
		if (n > 0 && p + n <= end) {
			char *v = strndup(p, n);

			if (!v)
				return -ENOMEM;
			*ret = v;
			return 0;
		}
	}
	return -EBADMSG;
}
