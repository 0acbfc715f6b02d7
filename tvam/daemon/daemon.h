/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* tvamd's state shared by its request handlers. */

#include <stdint.h>

#include <json-c/json.h>

#include "tvam/tpm/tpm-context.h"

struct lvm_ctx;
struct virt_conn;

struct daemon {
        const char *socket_path;
        const char *state_dir;
        const char *tcti;
        const char *vg;          /* volume group of application LVs */
        const char *libvirt_uri;
        uint32_t launch_pcrs;    /* the launch profile's PCRs (srtm: 0-7, txt: 17-19) */
        struct tpm_context *tpm; /* opened lazily by daemon_tpm() */
        struct lvm_ctx *lvm;     /* opened lazily by daemon_lvm() */
        struct virt_conn *virt;  /* opened lazily by daemon_virt() */
};

int daemon_lvm(struct daemon *d, struct lvm_ctx **ret);
int daemon_virt(struct daemon *d, struct virt_conn **ret);

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

/* Application methods (apps.c). */
int method_import(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size);
int method_list(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size);
int method_start(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size);
int method_stop(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size);
int method_remove(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size);

/* Roll back half-finished imports (at start-up). */
int daemon_recover(struct daemon *d);
