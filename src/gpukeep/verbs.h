/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One entry point per verb; each parses its own options and returns a gk_exit code. */
#pragma once

int verb_inventory(int argc, char **argv);
int verb_holders(int argc, char **argv);
int verb_baseline(int argc, char **argv);
int verb_validate(int argc, char **argv);
int verb_pm(int argc, char **argv);
int verb_status(int argc, char **argv);
int verb_reset(int argc, char **argv);
int verb_reload(int argc, char **argv);
int verb_reboot(int argc, char **argv);
int verb_settings(int argc, char **argv);
int verb_watch(int argc, char **argv);
int verb_events(int argc, char **argv);
int verb_health(int argc, char **argv);
