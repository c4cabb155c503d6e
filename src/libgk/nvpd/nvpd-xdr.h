/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The generated interface (nvpd.x through rpcgen), and what using it from warning-clean C needs. */
#pragma once

#include "nvpd/nvpd.h"

/* libtirpc declares xdr_void() without parameters; casting it to xdrproc_t directly is an
 * incompatible function cast, through void (*)(void) it is the documented escape. */
#define NVPD_XDR_VOID ((xdrproc_t)(void (*)(void))xdr_void)
