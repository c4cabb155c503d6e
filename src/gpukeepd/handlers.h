/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Request handlers: one per request type, authorised from a table before they run. */
#pragma once

#include <stddef.h>

struct gkd;
struct client;

/*
 * Decodes, authorises and executes one request line of @len bytes (no newline) from @c. Returns
 * the reply line, newline included, malloc()ed, and its length in *ret_len; NULL on -ENOMEM.
 */
char *handle_request(struct gkd *d, const struct client *c, const char *line, size_t len,
		     size_t *ret_len);

/* Frees the cached "list" reply. */
void handlers_done(void);
