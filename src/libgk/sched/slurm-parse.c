// SPDX-License-Identifier: GPL-2.0-or-later
/* Parsers of scontrol and squeue output, and the meaning of their failures. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "sched/slurm-parse.h"
#include "string-util.h"

static const struct {
	const char *word;
	unsigned flag;
} state_words[] = {
	{"DOWN", GK_SLURM_DOWN},
	{"DRAIN", GK_SLURM_DRAIN},
	{"DRAINED", GK_SLURM_DRAIN},
	{"DRAINING", GK_SLURM_DRAIN},
	{"REBOOT_REQUESTED", GK_SLURM_REBOOT_REQUESTED},
	{"REBOOT", GK_SLURM_REBOOT_REQUESTED}, /* Slurm before 21.08 */
	{"REBOOT_ISSUED", GK_SLURM_REBOOT_ISSUED},
	{"NOT_RESPONDING", GK_SLURM_NOT_RESPONDING},
	{"ALLOCATED", GK_SLURM_BUSY},
	{"MIXED", GK_SLURM_BUSY},
	{"COMPLETING", GK_SLURM_BUSY},
	{"FAIL", GK_SLURM_FAIL},
	{"MAINTENANCE", GK_SLURM_MAINT},
	{"MAINT", GK_SLURM_MAINT},
};

unsigned slurm_state_flags(const char *state)
{
	unsigned flags = 0;
	const char *p = state;

	while (*p) {
		size_t len = strcspn(p, "+");
		size_t word = len;

		/* "DOWN*": the '*' (and '~', '#', ...) suffixes mark not responding, power saving
		 */
		while (word > 0 && !isalpha((unsigned char)p[word - 1]) && p[word - 1] != '_')
			word--;
		if (word < len && memchr(p + word, '*', len - word))
			flags |= GK_SLURM_NOT_RESPONDING;
		for (size_t i = 0; i < ELEMENTSOF(state_words); i++)
			if (strlen(state_words[i].word) == word &&
			    strncmp(p, state_words[i].word, word) == 0)
				flags |= state_words[i].flag;
		p += len;
		if (*p == '+')
			p++;
	}
	return flags;
}

/* Copies @len bytes of @s into @buf (@size), or -ENAMETOOLONG. */
static int copy_field(char *buf, size_t size, const char *s, size_t len)
{
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

/*
 * The start of field @key in a one-line record: at the start or after a space, followed by '='.
 * Returns a pointer to its value, or NULL.
 */
static const char *field_start(const char *text, const char *key, const char *limit)
{
	size_t klen = strlen(key);

	for (const char *p = text; (p = strstr(p, key)); p++) {
		if (limit && p >= limit)
			return NULL;
		if ((p == text || p[-1] == ' ') && p[klen] == '=')
			return p + klen + 1;
	}
	return NULL;
}

/* A plain field's value runs to the next space. */
static int word_field(const char *text, const char *key, const char *limit, char *buf, size_t size,
		      bool required)
{
	const char *v = field_start(text, key, limit);

	if (!v) {
		buf[0] = '\0';
		return required ? -EPROTO : 0;
	}
	return copy_field(buf, size, v, strcspn(v, " \n"));
}

/* Whether @p is Slurm's reason trailer " [user@YYYY-MM-DDTHH:MM:SS]"; sets *ret_end past it. */
static bool is_reason_trailer(const char *p, const char **ret_end)
{
	const char *at, *close;

	if (!startswith(p, " ["))
		return false;
	close = strchr(p, ']');
	at = strchr(p, '@');
	if (!close || !at || at > close || close - at != 20)
		return false;
	if (!isdigit((unsigned char)at[1]) || at[11] != 'T' || at[14] != ':' || at[17] != ':')
		return false;
	*ret_end = close + 1;
	return true;
}

/* Reason= runs to its trailer; without one (older Slurm, sinfo), to the end of the line. */
static int reason_field(const char *text, char *buf, size_t size, const char **ret_after)
{
	const char *v = field_start(text, "Reason", NULL), *end, *after = NULL;

	*ret_after = NULL;
	if (!v) {
		buf[0] = '\0';
		return 0;
	}
	for (end = v; *end && *end != '\n'; end++)
		if (is_reason_trailer(end, &after))
			break;
	*ret_after = after;
	return copy_field(buf, size, v, (size_t)(end - v));
}

int slurm_parse_node(const char *text, struct gk_slurm_node *ret)
{
	struct gk_slurm_node n = {};
	const char *reason, *after;
	int r;

	/* fields before Reason= are read only up to it, so a reason's text cannot fake them */
	reason = field_start(text, "Reason", NULL);
	r = word_field(text, "NodeName", reason, n.name, sizeof(n.name), true);
	if (r < 0)
		return r;
	r = word_field(text, "State", reason, n.state, sizeof(n.state), true);
	if (r < 0)
		return r;
	r = word_field(text, "NodeHostName", reason, n.hostname, sizeof(n.hostname), false);
	if (r < 0)
		return r;
	r = reason_field(text, n.reason, sizeof(n.reason), &after);
	if (r < 0)
		return r;
	if (n.name[0] == '\0' || n.state[0] == '\0')
		return -EPROTO;
	if (streq(n.reason, "(null)") || streq(n.reason, "none"))
		n.reason[0] = '\0';
	n.flags = slurm_state_flags(n.state);
	*ret = n;
	return 0;
}

static bool is_job_id(const char *s, size_t len)
{
	size_t digits = 0, i = 0;

	for (; i < len && isdigit((unsigned char)s[i]); i++)
		digits++;
	if (digits == 0)
		return false;
	if (i == len)
		return true;
	/* array (12_3) and heterogeneous (12+0) job ids */
	if (s[i] != '_' && s[i] != '+')
		return false;
	for (i++; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return s[len - 1] != '_' && s[len - 1] != '+';
}

int slurm_parse_jobs(const char *text, char **ret_ids)
{
	_cleanup_free_ char *ids = NULL;
	size_t used = 0;
	int n = 0;

	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		const char *s = p;
		size_t slen = len;
		char *grown;

		p += len + (p[len] == '\n');
		while (slen > 0 && isspace((unsigned char)*s))
			s++, slen--;
		while (slen > 0 && isspace((unsigned char)s[slen - 1]))
			slen--;
		if (slen == 0)
			continue;
		if (!is_job_id(s, slen))
			return -EPROTO;
		n++;
		if (!ret_ids)
			continue;
		grown = realloc(ids, used + slen + 2);
		if (!grown)
			return -ENOMEM;
		ids = grown;
		if (used > 0)
			ids[used++] = ',';
		memcpy(ids + used, s, slen);
		used += slen;
		ids[used] = '\0';
	}
	if (ret_ids)
		*ret_ids = TAKE_PTR(ids);
	return n;
}

int slurm_classify_failure(int status, const char *err)
{
	static const char *const unreachable[] = {
		"Unable to contact slurm controller",
		"Socket timed out",
		"Connection refused",
		"Zero Bytes were transmitted",
		"Communication connection failure",
		"Could not establish a configuration source",
	};

	if (status == 0)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(unreachable); i++)
		if (strstr(err, unreachable[i]))
			return -EHOSTUNREACH;
	if (strstr(err, "Invalid node name") || strstr(err, "not found"))
		return -ENOENT;
	if (strstr(err, "Access/permission denied") || strstr(err, "Invalid user"))
		return -EACCES;
	return -EIO;
}
