/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsers for /proc/driver/nvidia/version and /proc/driver/nvidia/gpus/<bdf>/information. */
#pragma once

#include <stdbool.h>

#include "node/pci.h"

struct gk_nvinfo {
	char *model;	/* "Model" */
	char *uuid;	/* "GPU UUID"; NULL when the driver did not print it (UUID not known yet) */
	char *vbios;	/* "Video BIOS" */
	char *bus_type; /* "PCIe" or "PCI" */
	char *firmware; /* "GPU Firmware", only with GSP firmware */
	struct gk_pci_addr bus_location;
	bool has_bus_location;
	int minor;    /* "Device Minor", always set on success */
	int excluded; /* "GPU Excluded" (or older "Blacklisted"): 1, 0, or -1 when absent */
};

/*
 * Parses the text of an information file. Lines are "Key:<tabs/spaces>value"; unknown keys are
 * ignored so that newer drivers parse. Fails with -EBADMSG when "Device Minor" is missing or
 * malformed, or a known field is malformed; *ret_error (when given) then names the field.
 * On success the strings in *ret are malloc()ed: free with nvinfo_done().
 */
int nvinfo_parse(const char *text, struct gk_nvinfo *ret, const char **ret_error);
void nvinfo_done(struct gk_nvinfo *info);

/*
 * Extracts the driver version ("535.261.03") from the version file's "NVRM version:" line.
 * Returns 0 and a malloc()ed string, or -EBADMSG when there is no such line or no version in it.
 */
int nvversion_parse(const char *text, char **ret);
