// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload journal, as a crash or a person may have left it: through journal_load(), the
 * function a resumed reload calls (file reader included). */
#include <fcntl.h>

#include "fuzz-util.h"
#include "procedure/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gk_journal j = {};
	char *error = NULL;
	int r;

	r = journal_load(AT_FDCWD, fuzz_file(data, size), &j, &error);
	if (r == 0)
		journal_done(&j);
	else if (r == -EBADMSG && !error)
		abort(); /* a refusal says what is wrong */
	free(error);
	return 0;
}
