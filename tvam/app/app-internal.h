/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by the files of the application library (app.c, backup.c); not
 * part of its API. */

#include "tvam/app/app.h"

#define MAP_NAME_MAX 64u /* "tvam-appcfg-" / "-verity" + a 32-character name */

/* Mapping names: tvam-app-NAME (LUKS2 of the image) and its /dev/mapper path. */
void app_map_image(const char *name, char buf[static MAP_NAME_MAX]);
void app_mapper_path(const char *map, char buf[static APP_DEVICE_MAX]);
/* /dev/VG/LV (caller frees). */
int app_lv_path(const struct app_ctx *ctx, const char *lv, char **ret);
/* Undo an import or restore described by M (mappings, volumes, manifest). */
int app_rollback(const struct app_ctx *ctx, const struct manifest *m);
