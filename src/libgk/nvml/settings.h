/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The per-GPU settings a driver reload (or a GPU deinitialization) loses: persistence mode,
 * compute mode, application clocks, power limit, accounting mode. A snapshot, its JSON form
 * (schema "gpukeep.settings"), and a restore that sets, reads back and reports each value. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "nvml/nvml.h"

#define GK_SETTINGS_SCHEMA   "gpukeep.settings"
#define GK_SETTINGS_VERSION  1
#define GK_SETTINGS_MAX_SIZE (1024 * 1024)

/* In restore order: persistence first, so that what follows outlives gpukeep's own handle. */
enum gk_setting {
	GK_SETTING_PERSISTENCE,
	GK_SETTING_COMPUTE_MODE,
	GK_SETTING_APP_CLOCKS,
	GK_SETTING_POWER_LIMIT,
	GK_SETTING_ACCOUNTING,
	_GK_SETTING_MAX,
};

struct gk_setting_value {
	bool known;	 /* read when the snapshot was taken */
	int status;	 /* when not known: the NVML status that says why (see nvml.h) */
	unsigned value;	 /* 0/1, the compute mode, milliwatts, or the graphics clock in MHz */
	unsigned value2; /* application clocks only: the memory clock in MHz */
};

struct gk_gpu_settings {
	char pci[GK_PCI_ADDR_STRLEN]; /* the GPU is found again by PCI address */
	char *uuid;		      /* NULL when unknown */
	struct gk_setting_value values[_GK_SETTING_MAX];
};

struct gk_settings {
	char *driver_version; /* NULL when unknown */
	struct gk_gpu_settings *gpus;
	size_t n_gpus;
	char *error; /* NULL, or what could not be read (a GPU lost, NVML hung) */
};

/*
 * Reads every GPU's settings through @n. Values that cannot be read are recorded with their
 * status (a snapshot of a half-hung node is still worth keeping); ret->error says what was
 * missed. Returns 0, -ENOMEM, or -errno (nvml_status_to_errno()) when NVML cannot even count
 * the GPUs. Free with settings_done().
 */
int settings_snapshot(struct gk_nvml *n, struct gk_settings *ret);
void settings_done(struct gk_settings *s);

/* The snapshot as a new JSON object, NULL on -ENOMEM. */
struct json_object *settings_to_json(const struct gk_settings *s);

/*
 * Reads a snapshot written by settings_to_json() (a file's object, or one embedded in a reload
 * journal). Every field is checked: -EBADMSG with *ret_error (malloc()ed, when given) naming the
 * field, or -ENOMEM. Free with settings_done().
 */
int settings_from_json(struct json_object *o, struct gk_settings *ret, char **ret_error);

enum gk_restore_outcome {
	GK_RESTORE_RESTORED,	  /* set and read back equal */
	GK_RESTORE_ALREADY_RIGHT, /* already had the snapshot's value: not set */
	GK_RESTORE_FAILED,	  /* message says why */
	GK_RESTORE_NOT_SUPPORTED, /* the GPU or the library cannot set or read it */
	GK_RESTORE_NOT_RECORDED,  /* the snapshot has no value (it could not be read then) */
	_GK_RESTORE_OUTCOME_MAX,
};

struct gk_restore_item {
	char pci[GK_PCI_ADDR_STRLEN];
	enum gk_setting setting;
	enum gk_restore_outcome outcome;
	char *message; /* the value ("250000 mW"), or why it failed */
};

struct gk_restore_report {
	struct gk_restore_item *items; /* per GPU, per setting, in restore order */
	size_t n;
	size_t n_failed;
};

/*
 * Puts every recorded setting of @snap back on the GPU with the same PCI address: reads it,
 * sets it when it differs, reads it back. Never stops at a failure (a hung NVML makes the rest
 * fail at once, each with that reason). Returns 0 and the report (n_failed > 0: not all
 * restored), or -ENOMEM. Free with restore_report_done().
 */
int settings_restore(struct gk_nvml *n, const struct gk_settings *snap,
		     struct gk_restore_report *ret);
void restore_report_done(struct gk_restore_report *r);

/* [{"pci", "setting", "outcome", "message"}, ...]; NULL on -ENOMEM. */
struct json_object *restore_report_to_json(const struct gk_restore_report *r);

const char *setting_to_string(enum gk_setting s);
const char *restore_outcome_to_string(enum gk_restore_outcome o);
/* "exclusive_process" for NVML's compute mode 3; NULL when out of range. */
const char *compute_mode_to_string(unsigned mode);
