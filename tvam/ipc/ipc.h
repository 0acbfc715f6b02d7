/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * tvamd's protocol (docs/protocol.md): JSON messages over a root-only Unix
 * stream socket.  Each message is a 4-byte big-endian length followed by
 * that many bytes of one JSON object (at most IPC_MESSAGE_MAX).  A message
 * may carry up to IPC_FDS_MAX file descriptors (SCM_RIGHTS) in its first
 * byte's ancillary data: the client opens the image and key files itself
 * and passes descriptors, so tvamd reads exactly what the (root) client
 * could read, and no secret travels as a path, in argv or in the JSON.
 *
 *   request   {"id": N, "method": "list", "params": {...}}
 *   progress  {"id": N, "progress": {...}}          (zero or more)
 *   reply     {"id": N, "ok": true, "result": {...}}
 *             {"id": N, "ok": false, "error": {"errno": "EEXIST",
 *                                               "code": 17, "message": "..."}}
 */

#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

#define IPC_PROTOCOL_VERSION 1
#define IPC_MESSAGE_MAX (1024u * 1024u)
#define IPC_FDS_MAX 4u
#define IPC_DEFAULT_SOCKET "/run/tvamd/tvamd.sock"

/* Send MSG (a JSON object) with N_FDS descriptors. */
int ipc_send(int sock, json_object *msg, const int *fds, size_t n_fds);

/* Receive one message.  *ret gets a JSON object (caller puts it); received
 * descriptors go to RET_FDS (room for IPC_FDS_MAX, O_CLOEXEC), their count
 * to *ret_n_fds.  -ECONNRESET on a clean EOF before a message, -EBADMSG for
 * a malformed frame, oversized length or non-object JSON (descriptors that
 * arrived with it are closed). */
int ipc_recv(int sock, json_object **ret, int *ret_fds, size_t *ret_n_fds);

/* The peer's uid (SO_PEERCRED). */
int ipc_peer_uid(int sock, uid_t *ret);

/* Build replies. */
json_object *ipc_reply_ok(int64_t id, json_object *result /* taken, may be NULL */);
json_object *ipc_reply_error(int64_t id, int error /* negative errno */, const char *message);
json_object *ipc_progress(int64_t id, json_object *progress /* taken */);

/* Listening socket at PATH (its directory is created 0700, the socket is
 * 0600, a stale socket is replaced).  Returns the fd or a negative errno. */
int ipc_listen(const char *path);
/* Connect to PATH.  Returns the fd or a negative errno. */
int ipc_connect(const char *path);

/* "EEXIST" etc. for a negative errno (NULL if unknown), and back. */
const char *ipc_errno_name(int error);
int ipc_errno_from_name(const char *name);
