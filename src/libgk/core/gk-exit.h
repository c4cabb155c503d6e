/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Exit codes shared by every gpukeep verb and by gpukeepd (documented in README and man pages). */
#pragma once

enum gk_exit {
	GK_EXIT_OK = 0,		  /* done */
	GK_EXIT_FAILED = 1,	  /* failed; whatever was changed was rolled back */
	GK_EXIT_USAGE = 2,	  /* bad command line or input */
	GK_EXIT_PRECONDITION = 3, /* refused before changing anything */
	GK_EXIT_NEEDS_PERSON = 4, /* failed and not rolled back: next rung of the ladder */
};
