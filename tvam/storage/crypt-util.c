/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tvam/shared/log.h"
#include "tvam/storage/crypt-util.h"

static _Thread_local char last_error[256];

/* libcryptsetup's log callback (libcryptsetup.h, crypt_set_log_callback):
 * LEVEL is one of CRYPT_LOG_{NORMAL,ERROR,VERBOSE,DEBUG,DEBUG_JSON}.  All
 * of it is debug output for us; error-level lines are also remembered. */
static void cryptutil_log(int level, const char *msg, void *usrptr)
{
        size_t n;

        (void)usrptr;
        if (!msg)
                return;
        n = strlen(msg);
        while (n > 0 && msg[n - 1] == '\n')
                n--;
        if (level == CRYPT_LOG_ERROR) {
                /* Several lines may belong to one failure ("Verification
                 * failed at position N." then "Verification of data area
                 * failed."): keep them all, "; "-separated, truncated. */
                size_t used = strlen(last_error), m = n;

                if (m > 0 && msg[m - 1] == '.')
                        m--;
                snprintf(last_error + used, sizeof(last_error) - used, "%s%.*s", used ? "; " : "", (int)m,
                        msg);
        }
        log_debug("libcryptsetup: %.*s", (int)n, msg);
}

void cryptutil_clear_error(void)
{
        last_error[0] = '\0';
}

const char *cryptutil_last_error(void)
{
        return last_error;
}

int cryptutil_init(const char *path, struct crypt_device **ret)
{
        struct crypt_device *cd = NULL;
        int r;

        if (!path || !ret)
                return -EINVAL;
        /* The default callback (used before a context exists, e.g. while
         * crypt_init() probes the device) must not print either. */
        crypt_set_log_callback(NULL, cryptutil_log, NULL);
        r = crypt_init(&cd, path);
        if (r < 0)
                return r;
        crypt_set_log_callback(cd, cryptutil_log, NULL);
        *ret = cd;
        return 0;
}

int cryptutil_init_by_name(const char *name, struct crypt_device **ret)
{
        struct crypt_device *cd = NULL;
        int r;

        if (!name || !ret)
                return -EINVAL;
        crypt_set_log_callback(NULL, cryptutil_log, NULL);
        r = crypt_init_by_name(&cd, name);
        if (r < 0)
                return r;
        crypt_set_log_callback(cd, cryptutil_log, NULL);
        *ret = cd;
        return 0;
}

int cryptutil_init_data_device(const char *path, const char *data_path, struct crypt_device **ret)
{
        struct crypt_device *cd = NULL;
        int r;

        if (!path || !data_path || !ret)
                return -EINVAL;
        crypt_set_log_callback(NULL, cryptutil_log, NULL);
        r = crypt_init_data_device(&cd, path, data_path);
        if (r < 0)
                return r;
        crypt_set_log_callback(cd, cryptutil_log, NULL);
        *ret = cd;
        return 0;
}

int cryptutil_load_luks2(const char *path, struct crypt_device **ret)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r;

        r = cryptutil_init(path, &cd);
        if (r < 0)
                return r;
        r = crypt_load(cd, CRYPT_LUKS2, NULL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(cd);
        return 0;
}
