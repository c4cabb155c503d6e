// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeepd's request lines, from any local user. Beyond "no crash": the reply the daemon would
 * send (an error quoting the request, or an envelope echoing its id) is valid, strict JSON. */
#include "daemon/protocol.h"
#include "fuzz-util.h"

static void check_reply(struct json_object *reply)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *back;
	size_t len = 0;
	char *line;

	if (!tok || !reply)
		abort();
	line = proto_serialize(reply, &len);
	if (!line || len == 0 || line[len - 1] != '\n')
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	back = json_tokener_parse_ex(tok, line, (int)len - 1);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(back, json_type_object))
		abort();
	json_object_put(back);
	json_tokener_free(tok);
	free(line);
	json_object_put(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gk_request r = {};
	struct gk_proto_err err = {};

	if (size >= GK_PROTO_MAX_REQUEST) /* the daemon refuses longer lines before parsing */
		return 0;
	if (proto_request_parse((const char *)data, size, &r, &err) < 0) {
		if (!err.message[0])
			abort(); /* every refusal says why */
		check_reply(proto_reply_error(NULL, err.code, err.message));
		return 0;
	}
	if (r.type >= _GK_REQ_MAX)
		abort();
	check_reply(proto_reply_ok(r.id));
	proto_request_done(&r);
	return 0;
}
