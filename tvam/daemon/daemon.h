/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* tvamd's state shared by its request handlers. */

#include <json-c/json.h>

#include "tvam/tpm/tpm-context.h"

struct daemon {
        const char *socket_path;
        const char *state_dir;
        const char *tcti;
        struct tpm_context *tpm; /* opened lazily by daemon_tpm() */
};

/* The TPM context, opened on first use (so tvamd can report a missing TPM
 * per request instead of refusing to start). */
int daemon_tpm(struct daemon *d, struct tpm_context **ret);

/* A request handler: PARAMS is the request's "params" object (never NULL);
 * on success *ret_result (may stay NULL) is the reply's result.  On failure
 * it returns a negative errno and writes a one-line reason to MESSAGE. */
typedef int (*method_fn)(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size);

/* Look up METHOD; NULL if unknown. */
method_fn daemon_method(const char *method);
