/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* tvamd's state shared by its request handlers. */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "tvam/app/app.h"
#include "tvam/daemon/update-mode.h"
#include "tvam/eventlog/eventlog.h"
#include "tvam/tpm/tpm-context.h"

struct lvm_ctx;
struct virt_conn;

struct daemon {
        const char *socket_path;
        const char *state_dir;
        const char *tcti;
        const char *vg;          /* volume group of application LVs */
        const char *libvirt_uri;
        /* This boot's TCG event log of PCR 13/14/15 (the initramfs starts it
         * with the base image's PCR 14 event). */
        const char *event_log;
        uint32_t launch_pcrs;    /* the launch profile's PCRs (srtm: 0-7, txt: 17-19) */
        /* The booted base image's LUKS2 volume (NULL: none, e.g. in tests):
         * its key is re-sealed through the boot policy index (policy.c). */
        const char *base_device;
        struct tpm_context *tpm; /* opened lazily by daemon_tpm() */
        struct lvm_ctx *lvm;     /* opened lazily by daemon_lvm() */
        struct virt_conn *virt;  /* opened lazily by daemon_virt() */
        /* The request being served: progress messages go to its client. */
        int client_fd;
        int64_t request_id;
        /* TESTS ONLY: $TVAM_TEST_CRASH_AFTER_STEP (an import step name, e.g.
         * "format"): tvamd dies abruptly right after that step of every
         * import, like kill -9 there (tests/lab/scenarios/60-tvamd.sh). */
        int test_crash_after_step;
        /* Update Mode: the SSH host key and the timeout (update-mode.c). */
        struct update_mode um;
        /* Held by the main loop while it serves a request or runs its timer,
         * and by a VM channel thread (endorse.c) while it uses the TPM and
         * the state directory: one user of the TPM context at a time. */
        pthread_mutex_t lock;
        /* The VM channel threads, one per started VM instance (endorse.c);
         * d->lock. */
        struct channel *channels;
};

/* Send a progress message for the current request (best effort: a client
 * that went away does not stop the work). */
void daemon_progress(struct daemon *d, json_object *progress /* taken */);

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

int method_backup(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size);
int method_restore(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size);

/* Start / stop one application (shared by start, stop and the groups).
 * NETWORK: a libvirt network for its one interface, or NULL for none.
 * RET_RESULT may be NULL. */
int daemon_start_app(struct daemon *d, const char *name, enum app_verify_mode vmode, const char *network,
        json_object **ret_result, char *message, size_t message_size);
int daemon_stop_app(struct daemon *d, const char *name, unsigned timeout_s, bool force, char *message,
        size_t message_size);

/* Measure E into PCR: append it to the TCG event log (durably), extend the
 * PCR with H(identity || config) (docs/eventlog.md "TVAM events"), keep a
 * copy of the log in the store, and add AUDIT_EVENT with AUDIT_FIELDS (JSON
 * members) to the audit log.  daemon_log_event() writes the audit log only. */
int daemon_measure(struct daemon *d, struct tpm_context *tpm, uint32_t pcr, const struct eventlog_tvam_event *e,
        const char *audit_event, const char *audit_fields);
int daemon_log_event(struct daemon *d, const char *event, const char *fields);

/* Attestation methods (attest.c). */
int method_enrol(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size);
int method_attest(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size);

/* The TPM with the SRK provisioned, or MESSAGE (attest.c). */
int daemon_attest_tpm(struct daemon *d, struct tpm_context **ret, char *message, size_t message_size);
/* For a request answered with the verifier's nonce (attest, platform-key):
 * the "nonce" parameter checked and decoded (caller frees *RET_NONCE), the
 * TPM with the SRK and the attestation key ready. */
int daemon_attest_begin(struct daemon *d, json_object *params, uint8_t **ret_nonce, size_t *ret_nonce_size,
        struct tpm_context **ret_tpm, char *message, size_t message_size);

/* ENDORSE / GET-ID (endorse.c; docs/protocol.md "VM channel").
 * daemon_platform_key(): make sure the platform key exists (REPLACE: and has
 * the policy of the current Application-Mode state).  method_platform_key():
 * that, and TPM2_Certify of it by the AK with the verifier's nonce.
 * daemon_channel_paths(): the host sockets of VM NAME's ENDORSE and TLS
 * ports (RUN_DIR/vm/NAME/{endorse,tls}.sock; the directory is created).
 * daemon_channel_clear(): remove stale sockets at those paths; only once
 * the VM is known not to be running (its sockets are live otherwise).
 * daemon_channel_start(): serve the ENDORSE port
 * at PATH for VM NAME with IDENTITY, in a thread of its own that ends when
 * the VM's QEMU closes the socket or the channel is revoked; a previous
 * channel of NAME is revoked (d->lock held).  daemon_channel_revoke(): the
 * channel threads of NAME (NULL: all) answer nothing more, their sockets
 * are shut down, they end (d->lock held; at stop and remove).
 * daemon_channels_stop(): revoke all and join the threads (at shutdown,
 * d->lock not held). */
int daemon_platform_key(struct daemon *d, struct tpm_context *tpm, bool replace, char *message, size_t message_size);
int method_platform_key(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size);
int daemon_channel_paths(struct daemon *d, const char *name, char endorse[108], char tls[108]);
void daemon_channel_clear(const char *endorse, const char *tls);
int daemon_channel_start(struct daemon *d, const char *name, const char *identity, const char *path);
void daemon_channel_revoke(struct daemon *d, const char *name);
void daemon_channels_stop(struct daemon *d);

/* Group methods (groups.c). */
int method_group(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size);

/* Start every group marked for autostart (docs/app.md "Groups"), in name
 * order; one failing does not stop the others.  Returns a JSON array of
 * {"group", "started", "error"} (never NULL). */
json_object *daemon_group_autostart(struct daemon *d);

/* Roll back half-finished imports (at start-up). */
int daemon_recover(struct daemon *d);
