/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tvamd's request handlers: parse params → check → act → result. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tvam/daemon/daemon.h"
#include "tvam/daemon/mode.h"
#include "tvam/daemon/policy.h"
#include "tvam/ipc/ipc.h"

#define TVAM_VERSION "0.1.0"

static int method_version(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size)
{
        json_object *r = json_object_new_object();

        (void)d, (void)params, (void)fds, (void)n_fds, (void)message, (void)message_size;
        json_object_object_add(r, "version", json_object_new_string(TVAM_VERSION));
        json_object_object_add(r, "protocol", json_object_new_int(IPC_PROTOCOL_VERSION));
        *ret_result = r;
        return 0;
}

/* mode: show the mode (and the Update-Mode timer and host key), or switch
 * to Application Mode (update-mode.c: stop sshd, wipe its key, extend
 * PCR 15, autostart the groups). */
static int method_mode(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size)
{
        json_object *set, *r, *autostart = NULL;
        struct tpm_context *tpm;
        enum tvam_mode mode, want;
        int err;

        (void)fds, (void)n_fds;
        err = daemon_tpm(d, &tpm);
        if (err < 0) {
                snprintf(message, message_size, "cannot reach the TPM (%s): %s", d->tcti, strerror(-err));
                return err;
        }

        if (json_object_object_get_ex(params, "set", &set)) {
                if (!json_object_is_type(set, json_type_string) ||
                        mode_from_string(json_object_get_string(set), &want) < 0) {
                        snprintf(message, message_size, "mode must be 'update' or 'application'");
                        return -EINVAL;
                }
                err = mode_get(tpm, &mode);
                if (err < 0) {
                        snprintf(message, message_size, "cannot read PCR %d: %s", MODE_PCR, strerror(-err));
                        return err;
                }
                if (want == MODE_UPDATE && mode != MODE_UPDATE) {
                        snprintf(message, message_size,
                                "the platform is in %s mode: only a reboot returns to Update Mode",
                                mode_to_string(mode));
                        return -EPERM;
                }
                if (want == MODE_APPLICATION) {
                        err = update_mode_leave(d, "request", &autostart, message, message_size);
                        if (err < 0)
                                return err;
                }
        }

        err = mode_get(tpm, &mode);
        if (err < 0) {
                json_object_put(autostart);
                snprintf(message, message_size, "cannot read PCR %d: %s", MODE_PCR, strerror(-err));
                return err;
        }
        r = json_object_new_object();
        json_object_object_add(r, "mode", json_object_new_string(mode_to_string(mode)));
        json_object_object_add(r, "pcr", json_object_new_int(MODE_PCR));
        update_mode_status(d, mode == MODE_UPDATE, r);
        if (autostart)
                json_object_object_add(r, "autostart", autostart);
        *ret_result = r;
        return 0;
}

static const struct {
        const char *name;
        method_fn fn;
} methods[] = {
        { "version", method_version },
        { "mode", method_mode },
        { "import", method_import },
        { "list", method_list },
        { "start", method_start },
        { "stop", method_stop },
        { "remove", method_remove },
        { "backup", method_backup },
        { "restore", method_restore },
        { "group", method_group },
        { "enrol", method_enrol },
        { "attest", method_attest },
        { "platform-key", method_platform_key },
        { "policy-init", method_policy_init },
        { "policy-show", method_policy_show },
        { "policy-diagnose", method_policy_diagnose },
        { "update-prepare", method_update_prepare },
        { "update-commit", method_update_commit },
        { "update-abort", method_update_abort },
};

method_fn daemon_method(const char *method)
{
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
                if (strcmp(methods[i].name, method) == 0)
                        return methods[i].fn;
        return NULL;
}
