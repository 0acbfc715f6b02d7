/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Logging for programs (tvamd, tvamctl, tools) and the debug channel of
 * library modules.  Library modules return errors and log only at debug
 * level; programs print one line at the boundary saying what failed.
 *
 * The level comes from TVAM_LOG_LEVEL (error, warning, info, debug);
 * default "info".  Never pass a secret to these functions.
 */

#include "tvam/shared/macro.h"

enum log_level {
        LOG_LEVEL_ERROR = 3,
        LOG_LEVEL_WARNING = 4,
        LOG_LEVEL_INFO = 6,
        LOG_LEVEL_DEBUG = 7,
};

void log_set_max_level(enum log_level level);
enum log_level log_get_max_level(void);
/* Parse TVAM_LOG_LEVEL; ignores unknown values. */
void log_parse_environment(void);
/* Program name prefixed to every line ("tvamctl: ..."). */
void log_set_program_name(const char *name);

/* Logs and returns ERROR (a negative errno, passed through) so callers can
 * write "return log_error_errno(r, ...)". */
int log_internal(enum log_level level, int error, const char *format, ...) _printf_(3, 4);

#define log_error(...) log_internal(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_internal(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_LEVEL_ERROR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_LEVEL_WARNING, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_LEVEL_DEBUG, (e), __VA_ARGS__)
