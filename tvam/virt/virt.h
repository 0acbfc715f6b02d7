/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Closed-box VMs as libvirt domains, through the libvirt C API (never virsh).
 * This is the only module that talks to libvirt; its one adapter turns
 * libvirt's errors (virGetLastError) into a negative errno plus libvirt's
 * message, which virt_last_error() returns for the caller's one-line error:
 *
 *   VIR_ERR_NO_DOMAIN                          -ENOENT
 *   VIR_ERR_OPERATION_INVALID                  -EBUSY   (wrong state: already running, not running)
 *   VIR_ERR_DOM_EXIST                          -EEXIST
 *   connecting failed                          -ECONNREFUSED
 *   VIR_ERR_AUTH_FAILED, VIR_ERR_ACCESS_DENIED -EACCES
 *   VIR_ERR_INVALID_ARG, XML errors            -EINVAL
 *   VIR_ERR_NO_SUPPORT, ARGUMENT_UNSUPPORTED   -EOPNOTSUPP
 *   VIR_ERR_OPERATION_TIMEOUT                  -ETIMEDOUT
 *   VIR_ERR_NO_MEMORY                          -ENOMEM
 *   anything else                              -EIO
 *
 * virt_start() additionally reports -EEXIST when a domain of that name is
 * already running, whatever code libvirt chose for it.
 *
 * Domains are transient (virDomainCreateXML): TVAM defines them anew from
 * its manifest on every start, so no persistent libvirt definition can
 * drift from what was measured.
 *
 * A struct virt_conn is used from one thread at a time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tvam/shared/macro.h"
#include "tvam/virt/virt-xml.h"

#define VIRT_DEFAULT_URI "qemu:///system"

enum virt_state {
        VIRT_STATE_NOT_FOUND,
        VIRT_STATE_RUNNING,
        VIRT_STATE_PAUSED,
        VIRT_STATE_SHUTTING_DOWN,
        VIRT_STATE_SHUT_OFF,
        VIRT_STATE_CRASHED,
        VIRT_STATE_OTHER,
        _VIRT_STATE_MAX,
};

/* "not found", "running", "paused", "shutting down", "shut off", "crashed", "other". */
const char *virt_state_to_string(enum virt_state state);

/* The libvirt message of the last failure of a virt_* call in this thread
 * (or our own reason for -EINVAL), "" if none. */
const char *virt_last_error(void);

/* The errno for a libvirt error code (virErrorNumber); exposed for tests. */
int virt_error_code_to_errno(int code);

struct virt_conn;

/* Connect to URI (NULL: VIRT_DEFAULT_URI).  Installs a libvirt error
 * handler that keeps libvirt from printing to stderr.  -ECONNREFUSED if the
 * daemon cannot be reached. */
int virt_connect(const char *uri, struct virt_conn **ret);
void virt_disconnect(struct virt_conn *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct virt_conn *, virt_disconnect)

/* Create and start the transient domain of CFG.  -EINVAL for an invalid CFG,
 * -EEXIST if a domain of that name is running. */
int virt_start(struct virt_conn *c, const struct virt_domain_config *cfg);

/* Stop domain NAME: unless FORCE or TIMEOUT_S is 0, press the ACPI power
 * button and wait up to TIMEOUT_S seconds for the domain to disappear; then
 * (or right away) destroy it.  Returns 0 if it powered off by itself, 1 if
 * it was destroyed, -ENOENT if there is no such domain. */
int virt_stop(struct virt_conn *c, const char *name, unsigned timeout_s, bool force);

/* State of NAME; VIRT_STATE_NOT_FOUND (return 0) if there is no such domain. */
int virt_state(struct virt_conn *c, const char *name, enum virt_state *ret);

struct virt_domain_info {
        char *name;
        enum virt_state state;
        int64_t uptime_s; /* seconds since QEMU started; -1 if unknown */
};

/* All domains (running and defined) of the connection. */
int virt_list(struct virt_conn *c, struct virt_domain_info **ret, size_t *ret_n);
void virt_domain_info_free(struct virt_domain_info *infos, size_t n);

/* Poll the serial log PATH every 100 ms until it contains MARKER (bytes,
 * anywhere; the file may not exist yet).  0 when found, -ETIMEDOUT after
 * TIMEOUT_S seconds. */
int virt_wait_serial_marker(const char *path, const char *marker, unsigned timeout_s);

/* Create (transient) and start the isolated network NAME on bridge BRIDGE
 * (virt_network_xml()).  -EEXIST if a network of that name is active. */
int virt_network_start(struct virt_conn *c, const char *name, const char *bridge);

/* Destroy the network NAME.  -ENOENT if there is none. */
int virt_network_stop(struct virt_conn *c, const char *name);

/* 1 if the network NAME is active, 0 if not (or unknown). */
int virt_network_is_active(struct virt_conn *c, const char *name);
