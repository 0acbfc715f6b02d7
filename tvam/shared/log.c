/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/shared/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum log_level max_level = LOG_LEVEL_INFO;
static const char *program_name;

void log_set_max_level(enum log_level level)
{
        max_level = level;
}

enum log_level log_get_max_level(void)
{
        return max_level;
}

void log_set_program_name(const char *name)
{
        program_name = name;
}

void log_parse_environment(void)
{
        static const struct {
                const char *name;
                enum log_level level;
        } levels[] = {
                { "error", LOG_LEVEL_ERROR },
                { "warning", LOG_LEVEL_WARNING },
                { "info", LOG_LEVEL_INFO },
                { "debug", LOG_LEVEL_DEBUG },
        };
        const char *e = getenv("TVAM_LOG_LEVEL");

        if (!e)
                return;
        for (size_t i = 0; i < ELEMENTSOF(levels); i++)
                if (strcmp(e, levels[i].name) == 0)
                        max_level = levels[i].level;
}

int log_internal(enum log_level level, int error, const char *format, ...)
{
        va_list ap;

        if (level > max_level)
                return error;

        if (program_name)
                fprintf(stderr, "%s: ", program_name);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        if (error != 0)
                fprintf(stderr, ": %s", strerror(error < 0 ? -error : error));
        fputc('\n', stderr);
        return error;
}
