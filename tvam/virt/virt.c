/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/virt/virt.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tvam/shared/fileio.h"
#include "tvam/shared/log.h"

#define POLL_INTERVAL_MS 100
#define SERIAL_CHUNK 65536

struct virt_conn {
        virConnectPtr conn;
        bool local_qemu; /* qemu:///system: QEMU's pid file is readable for uptimes */
};

DEFINE_TRIVIAL_CLEANUP_FUNC(virDomainPtr, virDomainFree)
DEFINE_TRIVIAL_CLEANUP_FUNC(virNetworkPtr, virNetworkFree)

static _Thread_local char last_error[512];

const char *virt_last_error(void)
{
        return last_error;
}

_printf_(2, 3) static int set_error(int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(last_error, sizeof last_error, fmt, ap);
        va_end(ap);
        return r;
}

static const char *const state_names[_VIRT_STATE_MAX] = {
        [VIRT_STATE_NOT_FOUND] = "not found",
        [VIRT_STATE_RUNNING] = "running",
        [VIRT_STATE_PAUSED] = "paused",
        [VIRT_STATE_SHUTTING_DOWN] = "shutting down",
        [VIRT_STATE_SHUT_OFF] = "shut off",
        [VIRT_STATE_CRASHED] = "crashed",
        [VIRT_STATE_OTHER] = "other",
};

const char *virt_state_to_string(enum virt_state state)
{
        if ((int)state < 0 || state >= _VIRT_STATE_MAX)
                return "invalid";
        return state_names[state];
}

/* ---- the libvirt error adapter -------------------------------------------- */

int virt_error_code_to_errno(int code)
{
        switch (code) {
        case VIR_ERR_OK:
                return 0;
        case VIR_ERR_NO_DOMAIN:
        case VIR_ERR_NO_NETWORK:
                return -ENOENT;
        case VIR_ERR_OPERATION_INVALID: /* "domain is already active" / "not running" */
                return -EBUSY;
        case VIR_ERR_DOM_EXIST:
        case VIR_ERR_NETWORK_EXIST:
                return -EEXIST;
        case VIR_ERR_NO_CONNECT:
                return -ECONNREFUSED;
        case VIR_ERR_AUTH_FAILED:
        case VIR_ERR_ACCESS_DENIED:
                return -EACCES;
        case VIR_ERR_INVALID_ARG:
        case VIR_ERR_XML_ERROR:
        case VIR_ERR_XML_DETAIL:
                return -EINVAL;
        case VIR_ERR_NO_SUPPORT:
        case VIR_ERR_ARGUMENT_UNSUPPORTED:
                return -EOPNOTSUPP;
        case VIR_ERR_OPERATION_TIMEOUT:
                return -ETIMEDOUT;
        case VIR_ERR_NO_MEMORY:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

/* The one place libvirt's error becomes ours: errno from the code, message
 * kept for virt_last_error(), libvirt's error reset (virterror.h: the last
 * error is per thread). */
static int libvirt_error(void)
{
        const virError *e = virGetLastError();
        int r;

        if (!e || e->code == VIR_ERR_OK) {
                set_error(-EIO, "libvirt reported a failure without an error");
                return -EIO;
        }
        r = virt_error_code_to_errno(e->code);
        if (r == 0)
                r = -EIO;
        set_error(r, "%s", e->message ?: "unknown libvirt error");
        log_debug("libvirt error code %d domain %d: %s", e->code, e->domain, last_error);
        virResetLastError();
        return r;
}

static int libvirt_error_code(void)
{
        const virError *e = virGetLastError();
        return e ? e->code : VIR_ERR_OK;
}

/* libvirt's default handler prints every error to stderr; library modules
 * do not print (STYLE.md §2), so errors go only through libvirt_error(). */
static void silent_error_handler(void *userdata, virErrorPtr error)
{
        (void)userdata;
        (void)error;
}

/* ---- connection ------------------------------------------------------------- */

int virt_connect(const char *uri, struct virt_conn **ret)
{
        _cleanup_free_ struct virt_conn *c = NULL;

        assert(ret);
        last_error[0] = '\0';
        if (!uri)
                uri = VIRT_DEFAULT_URI;

        if (virInitialize() < 0)
                return set_error(-EIO, "libvirt failed to initialise");
        virSetErrorFunc(NULL, silent_error_handler);

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->conn = virConnectOpen(uri);
        if (!c->conn) {
                int r = libvirt_error();
                /* Whatever the detail (socket missing, daemon down, RPC
                 * failure), the caller could not reach the hypervisor. */
                return r == -EACCES || r == -ENOMEM ? r : -ECONNREFUSED;
        }
        c->local_qemu = strcmp(uri, "qemu:///system") == 0;
        *ret = TAKE_PTR(c);
        return 0;
}

void virt_disconnect(struct virt_conn *c)
{
        if (!c)
                return;
        if (c->conn)
                virConnectClose(c->conn);
        free(c);
}

/* ---- lifecycle -------------------------------------------------------------- */

static int lookup(struct virt_conn *c, const char *name, virDomainPtr *ret)
{
        virDomainPtr d;

        if (!virt_name_valid(name))
                return set_error(-EINVAL, "invalid domain name");
        d = virDomainLookupByName(c->conn, name);
        if (!d)
                return libvirt_error();
        *ret = d;
        return 0;
}

int virt_start(struct virt_conn *c, const struct virt_domain_config *cfg)
{
        _cleanup_free_ char *xml = NULL;
        _cleanup_(virDomainFreep) virDomainPtr d = NULL;
        int r;

        assert(c && cfg);
        last_error[0] = '\0';

        r = virt_domain_config_check(cfg, last_error, sizeof last_error);
        if (r < 0)
                return r;
        r = virt_domain_xml(cfg, &xml);
        if (r < 0)
                return set_error(r, "cannot build the domain XML");

        /* virDomainCreateXML: a transient domain, gone once it stops. */
        d = virDomainCreateXML(c->conn, xml, VIR_DOMAIN_NONE);
        if (!d) {
                char saved[sizeof last_error];
                virDomainPtr other;

                r = libvirt_error();
                /* Same name already running: libvirt says OPERATION_INVALID
                 * ("already active") for the same UUID, OPERATION_FAILED
                 * ("already exists with uuid") for another one.  Both are
                 * "exists" to our callers; libvirt's message is kept.  (Other
                 * codes, e.g. an XML error, are reported as they are.) */
                memcpy(saved, last_error, sizeof saved);
                other = r == -EIO || r == -EBUSY ? virDomainLookupByName(c->conn, cfg->name) : NULL;
                if (other) {
                        if (virDomainIsActive(other) == 1)
                                r = -EEXIST;
                        virDomainFree(other);
                }
                virResetLastError();
                memcpy(last_error, saved, sizeof saved);
                return r;
        }
        log_debug("Started domain '%s'", cfg->name);
        return 0;
}

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* 1 if NAME has disappeared (transient domain) or is shut off, 0 if it is
 * still there, negative errno on another failure. */
static int domain_gone(struct virt_conn *c, const char *name)
{
        enum virt_state s;
        int r;

        r = virt_state(c, name, &s);
        if (r < 0)
                return r;
        return s == VIRT_STATE_NOT_FOUND || s == VIRT_STATE_SHUT_OFF;
}

int virt_stop(struct virt_conn *c, const char *name, unsigned timeout_s, bool force)
{
        _cleanup_(virDomainFreep) virDomainPtr d = NULL;
        int r;

        assert(c && name);
        last_error[0] = '\0';

        r = lookup(c, name, &d);
        if (r < 0)
                return r;

        if (!force && timeout_s > 0) {
                uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000;

                /* The ACPI power button (virDomainShutdownFlags), not the
                 * guest agent: a closed box runs no agent of ours. */
                if (virDomainShutdownFlags(d, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) < 0) {
                        r = libvirt_error();
                        if (r == -ENOENT)
                                return r;
                        log_debug("ACPI shutdown of '%s' failed (%s), destroying", name, last_error);
                } else
                        for (;;) {
                                r = domain_gone(c, name);
                                if (r < 0)
                                        return r;
                                if (r > 0)
                                        return 0;
                                if (now_ms() >= deadline)
                                        break;
                                sleep_ms(POLL_INTERVAL_MS);
                        }
        }

        if (virDomainDestroy(d) < 0) {
                int code = libvirt_error_code();

                r = libvirt_error();
                /* It went away by itself between the last check and now. */
                if (code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_OPERATION_INVALID) {
                        last_error[0] = '\0';
                        return 0;
                }
                return r;
        }
        log_debug("Destroyed domain '%s'", name);
        return 1;
}

static enum virt_state state_from_libvirt(int s)
{
        switch (s) {
        case VIR_DOMAIN_RUNNING:
        case VIR_DOMAIN_BLOCKED: /* running, waiting on a resource */
                return VIRT_STATE_RUNNING;
        case VIR_DOMAIN_PAUSED:
        case VIR_DOMAIN_PMSUSPENDED:
                return VIRT_STATE_PAUSED;
        case VIR_DOMAIN_SHUTDOWN:
                return VIRT_STATE_SHUTTING_DOWN;
        case VIR_DOMAIN_SHUTOFF:
                return VIRT_STATE_SHUT_OFF;
        case VIR_DOMAIN_CRASHED:
                return VIRT_STATE_CRASHED;
        default:
                return VIRT_STATE_OTHER;
        }
}

static int domain_state(virDomainPtr d, enum virt_state *ret)
{
        int s, reason;

        if (virDomainGetState(d, &s, &reason, 0) < 0) {
                int r = libvirt_error();
                if (r != -ENOENT)
                        return r;
                /* Disappeared since the lookup (transient domain stopped). */
                last_error[0] = '\0';
                *ret = VIRT_STATE_NOT_FOUND;
                return 0;
        }
        *ret = state_from_libvirt(s);
        return 0;
}

int virt_state(struct virt_conn *c, const char *name, enum virt_state *ret)
{
        _cleanup_(virDomainFreep) virDomainPtr d = NULL;
        int r;

        assert(c && name && ret);
        last_error[0] = '\0';

        r = lookup(c, name, &d);
        if (r == -ENOENT) {
                last_error[0] = '\0';
                *ret = VIRT_STATE_NOT_FOUND;
                return 0;
        }
        if (r < 0)
                return r;
        return domain_state(d, ret);
}

/* Read a small text file (procfs files report size 0, so read until EOF)
 * into BUF, NUL-terminated.  0 or a negative errno. */
static int read_small(const char *path, char *buf, size_t size)
{
        _cleanup_close_ int fd = -1;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = loop_read(fd, buf, size - 1);
        if (n < 0)
                return (int)n;
        buf[n] = '\0';
        return 0;
}

/* Seconds since the domain's QEMU process started: its pid from libvirt's
 * pid file, its start time from /proc/PID/stat field 22 (proc(5),
 * "starttime", clock ticks after boot), against /proc/uptime. */
static int64_t qemu_uptime(const char *name)
{
        char path[128], buf[1024];
        unsigned long long start_ticks;
        double up, started;
        long pid, hz;
        const char *p;
        char *end;

        if (!virt_name_valid(name))
                return -1;
        snprintf(path, sizeof path, "/run/libvirt/qemu/%s.pid", name);
        if (read_small(path, buf, sizeof buf) < 0)
                return -1;
        pid = strtol(buf, NULL, 10);
        if (pid <= 0)
                return -1;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        if (read_small(path, buf, sizeof buf) < 0)
                return -1;
        /* The command name (field 2) may contain spaces: start after its
         * closing parenthesis, then skip fields 3-21 (state … itrealvalue). */
        p = strrchr(buf, ')');
        if (!p)
                return -1;
        p++;
        for (int field = 3; field < 22; field++) {
                p += strspn(p, " ");
                p += strcspn(p, " ");
        }
        errno = 0;
        start_ticks = strtoull(p, &end, 10);
        if (errno != 0 || end == p)
                return -1;
        if (read_small("/proc/uptime", buf, sizeof buf) < 0 || sscanf(buf, "%lf", &up) != 1)
                return -1;
        hz = sysconf(_SC_CLK_TCK);
        if (hz <= 0)
                return -1;
        started = (double)start_ticks / (double)hz;
        return up > started ? (int64_t)(up - started) : 0;
}

void virt_domain_info_free(struct virt_domain_info *infos, size_t n)
{
        if (!infos)
                return;
        for (size_t i = 0; i < n; i++)
                free(infos[i].name);
        free(infos);
}

int virt_list(struct virt_conn *c, struct virt_domain_info **ret, size_t *ret_n)
{
        virDomainPtr *doms = NULL;
        struct virt_domain_info *infos = NULL;
        size_t n_infos = 0;
        int n, r = 0;

        assert(c && ret && ret_n);
        last_error[0] = '\0';

        n = virConnectListAllDomains(c->conn, &doms, 0);
        if (n < 0)
                return libvirt_error();

        infos = calloc((size_t)n + 1, sizeof *infos);
        if (!infos) {
                r = -ENOMEM;
                goto out;
        }
        for (int i = 0; i < n; i++) {
                struct virt_domain_info *info = &infos[n_infos];
                const char *name = virDomainGetName(doms[i]);

                if (!name) {
                        r = libvirt_error();
                        goto out;
                }
                r = domain_state(doms[i], &info->state);
                if (r < 0)
                        goto out;
                if (info->state == VIRT_STATE_NOT_FOUND)
                        continue; /* stopped while we listed */
                info->name = strdup(name);
                if (!info->name) {
                        r = -ENOMEM;
                        goto out;
                }
                info->uptime_s = -1;
                if (c->local_qemu && info->state != VIRT_STATE_SHUT_OFF)
                        info->uptime_s = qemu_uptime(name);
                n_infos++;
        }
        *ret = infos;
        *ret_n = n_infos;
        infos = NULL;
out:
        virt_domain_info_free(infos, n_infos);
        for (int i = 0; i < n; i++)
                virDomainFree(doms[i]);
        free(doms);
        return r;
}

/* ---- serial log ------------------------------------------------------------- */

/* Look for MARKER in PATH from *OFFSET on; advances *OFFSET past what was
 * searched (minus an overlap so a marker split across reads is found).
 * 1 if found, 0 if not (yet). */
static int scan_serial(const char *path, const char *marker, off_t *offset)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t mlen = strlen(marker);
        struct stat st;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size < *offset) /* truncated: a new run of the VM */
                *offset = 0;
        buf = malloc(SERIAL_CHUNK + mlen);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                n = pread(fd, buf, SERIAL_CHUNK + mlen, *offset);
                if (n < 0)
                        return -errno;
                if ((size_t)n < mlen)
                        return 0;
                if (memmem(buf, (size_t)n, marker, mlen))
                        return 1;
                *offset += n - (ssize_t)mlen + 1;
        }
}

int virt_wait_serial_marker(const char *path, const char *marker, unsigned timeout_s)
{
        uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000;
        off_t offset = 0;
        int r;

        assert(path && marker);
        last_error[0] = '\0';
        if (marker[0] == '\0')
                return set_error(-EINVAL, "empty marker");

        for (;;) {
                r = scan_serial(path, marker, &offset);
                if (r < 0)
                        return set_error(r, "cannot read serial log %s", path);
                if (r > 0)
                        return 0;
                if (now_ms() >= deadline)
                        return set_error(-ETIMEDOUT, "marker not in %s within %u s", path, timeout_s);
                sleep_ms(POLL_INTERVAL_MS);
        }
}

int virt_network_start(struct virt_conn *c, const char *name, const char *bridge)
{
        _cleanup_free_ char *xml = NULL;
        _cleanup_(virNetworkFreep) virNetworkPtr n = NULL;
        int r;

        assert(c);
        last_error[0] = '\0';
        r = virt_network_xml(name, bridge, &xml);
        if (r < 0)
                return set_error(r, "invalid network or bridge name");
        if (virt_network_is_active(c, name) > 0)
                return set_error(-EEXIST, "network is active already");
        /* virNetworkCreateXML: transient, gone once destroyed. */
        n = virNetworkCreateXML(c->conn, xml);
        if (!n)
                return libvirt_error();
        return 0;
}

int virt_network_stop(struct virt_conn *c, const char *name)
{
        _cleanup_(virNetworkFreep) virNetworkPtr n = NULL;

        assert(c && name);
        last_error[0] = '\0';
        n = virNetworkLookupByName(c->conn, name);
        if (!n)
                return libvirt_error();
        return virNetworkDestroy(n) < 0 ? libvirt_error() : 0;
}

int virt_network_is_active(struct virt_conn *c, const char *name)
{
        _cleanup_(virNetworkFreep) virNetworkPtr n = NULL;
        int r;

        assert(c && name);
        n = virNetworkLookupByName(c->conn, name);
        if (!n) {
                virResetLastError();
                return 0;
        }
        r = virNetworkIsActive(n);
        return r > 0 ? 1 : 0;
}
