/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Update Mode (ARCHITECTURE.md "Modes", acTvSM §3.3 "Update and Application
 * Mode"; docs/base-system.md "Modes"):
 *
 *  - the SSH host key: an Ed25519 key generated once, its seed sealed to the
 *    launch PCRs + PCR 14 + PCR 15 = 0 (STATE/ssh/ssh_host_ed25519_key.sealed;
 *    the public key beside it in clear).  In Update Mode tvamd unseals it
 *    into a 0600 file on a tmpfs for sshd; in Application Mode never.
 *  - leaving Update Mode (tvamctl mode application, or the timeout): stop
 *    sshd, overwrite and unlink the key files, extend PCR 15, start the
 *    groups marked for autostart.
 *  - the timeout: without a login (a USER_PROCESS record in wtmp since
 *    boot) within --update-mode-timeout seconds of tvamd's start, tvamd
 *    leaves Update Mode by itself.
 */

#include <stdbool.h>

#include <json-c/json.h>

#include "tvam/daemon/sshkey.h"

struct daemon;
struct tpm_context;

struct update_mode {
        const char *host_key;      /* tmpfs path of the unsealed key (.pub beside it) */
        char **stop_argv;          /* stops sshd; NULL or empty = nothing to stop */
        unsigned timeout_s;        /* 0 = never leave Update Mode by itself */
        const char *login_records; /* wtmp-format file watched for logins */
        double deadline;           /* CLOCK_BOOTTIME seconds; 0 = no timer */
        bool login_seen;
        long long records_offset;  /* bytes of LOGIN_RECORDS already read */
        char fingerprint[SSHKEY_FINGERPRINT_MAX]; /* "" = no host key */
        char host_key_error[320];  /* why there is no unsealed key, "" if none */
};

/* Split CMD at blanks into an argv (no shell, no quoting); "" gives an
 * empty argv.  Free with update_mode_argv_free(). */
int update_mode_parse_argv(const char *cmd, char ***ret);
void update_mode_argv_free(char **argv);

/* At tvamd's start: in Update Mode create or unseal the host key and arm the
 * timer; in Application Mode only read the public key's fingerprint.
 * Problems are logged and kept in host_key_error (tvamd starts anyway). */
void update_mode_init(struct daemon *d);

/* Once the sealing policy is initialized: re-seal the host key (sealed to
 * the Update-Mode state itself before) through the Update-Mode policy
 * index, so updates authorize it for the next state (docs/update.md).  In
 * Update Mode only (it is unsealed for that).  1: re-sealed, 0: nothing to
 * do (no key, or through the index already). */
int update_mode_reseal_host_key(struct daemon *d, struct tpm_context *tpm, char *message, size_t message_size);

/* Called from the main loop: notice logins, leave Update Mode when the
 * timer expired.  Returns the poll() timeout in ms until the next check
 * (-1 = none needed). */
int update_mode_tick(struct daemon *d);

/* Leave Update Mode (WHY: "request" or "timeout").  A platform already in
 * Application Mode only gets its key files wiped again.  *RET_AUTOSTART
 * (may be NULL) gets the autostart groups' outcomes (a JSON array). */
int update_mode_leave(struct daemon *d, const char *why, json_object **ret_autostart, char *message,
        size_t message_size);

/* Add "update_mode_timeout", "update_mode_remaining", "login_seen",
 * "ssh_host_key" {fingerprint, path, error} to a mode reply. */
void update_mode_status(struct daemon *d, bool update_mode, json_object *result);
