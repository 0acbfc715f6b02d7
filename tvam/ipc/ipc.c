/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/ipc/ipc.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tvam/shared/fileio.h"
#include "tvam/shared/macro.h"

/* write_all() with MSG_NOSIGNAL: a peer that closed (tvamd refusing a
 * client before reading its request, a client gone) is -EPIPE, never a
 * SIGPIPE that kills the process (seen as tvamctl exiting 141 when tvamd
 * refused a non-root client between our header and our body). */
static int send_all(int sock, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = send(sock, buf, len, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

int ipc_send(int sock, json_object *msg, const int *fds, size_t n_fds)
{
        const char *text;
        size_t len, sent = 0;
        uint8_t header[4];

        assert(sock >= 0 && msg);
        if (n_fds > IPC_FDS_MAX || (n_fds && !fds))
                return -EINVAL;
        text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
        if (!text)
                return -ENOMEM;
        len = strlen(text);
        if (len > IPC_MESSAGE_MAX)
                return -EMSGSIZE;
        header[0] = (uint8_t)(len >> 24);
        header[1] = (uint8_t)(len >> 16);
        header[2] = (uint8_t)(len >> 8);
        header[3] = (uint8_t)len;

        /* The header goes out with the descriptors attached (unix(7):
         * ancillary data travels with the first byte of the data it is
         * sent with). */
        {
                union {
                        struct cmsghdr align;
                        char buf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
                } control = {};
                struct iovec iov = { .iov_base = header, .iov_len = sizeof(header) };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n;

                if (n_fds > 0) {
                        struct cmsghdr *c;
                        mh.msg_control = control.buf;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                        c = CMSG_FIRSTHDR(&mh);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
                }
                do
                        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
                while (n < 0 && errno == EINTR);
                if (n < 0)
                        return -errno;
                sent = (size_t)n;
        }
        if (sent < sizeof(header)) {
                /* A partial header write on a stream socket: finish it. */
                int r = send_all(sock, (const char *)header + sent, sizeof(header) - sent);
                if (r < 0)
                        return r;
        }
        return send_all(sock, text, len);
}

static void close_fds(int *fds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
}

int ipc_recv(int sock, json_object **ret, int *ret_fds, size_t *ret_n_fds)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
        } control = {};
        uint8_t header[4];
        struct iovec iov = { .iov_base = header, .iov_len = sizeof(header) };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control.buf,
                .msg_controllen = sizeof(control.buf),
        };
        int fds[IPC_FDS_MAX];
        size_t n_fds = 0, len;
        _cleanup_free_ char *text = NULL;
        json_object *obj;
        json_tokener *tok;
        ssize_t n;
        int r;

        assert(sock >= 0 && ret);

        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ECONNRESET;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (n_fds < IPC_FDS_MAX)
                                fds[n_fds++] = fd;
                        else
                                close(fd);
                }
        }
        if (mh.msg_flags & MSG_CTRUNC) {
                close_fds(fds, n_fds);
                return -EBADMSG;
        }

        if ((size_t)n < sizeof(header)) {
                ssize_t m = loop_read(sock, header + n, sizeof(header) - (size_t)n);
                if (m < 0 || (size_t)m != sizeof(header) - (size_t)n) {
                        close_fds(fds, n_fds);
                        return m < 0 ? (int)m : -EBADMSG;
                }
        }
        len = (size_t)header[0] << 24 | (size_t)header[1] << 16 | (size_t)header[2] << 8 | header[3];
        if (len == 0 || len > IPC_MESSAGE_MAX) {
                close_fds(fds, n_fds);
                return -EBADMSG;
        }
        text = malloc(len + 1);
        if (!text) {
                close_fds(fds, n_fds);
                return -ENOMEM;
        }
        n = loop_read(sock, text, len);
        if (n < 0 || (size_t)n != len) {
                close_fds(fds, n_fds);
                return n < 0 ? (int)n : -EBADMSG;
        }
        text[len] = '\0';

        /* Strict: exactly one JSON object, nothing after it. */
        tok = json_tokener_new();
        if (!tok) {
                close_fds(fds, n_fds);
                return -ENOMEM;
        }
        obj = json_tokener_parse_ex(tok, text, (int)len);
        r = json_tokener_get_error(tok) == json_tokener_success && (size_t)json_tokener_get_parse_end(tok) == len;
        json_tokener_free(tok);
        if (!obj || !r || !json_object_is_type(obj, json_type_object) || strlen(text) != len) {
                json_object_put(obj);
                close_fds(fds, n_fds);
                return -EBADMSG;
        }

        if (ret_fds && ret_n_fds) {
                memcpy(ret_fds, fds, n_fds * sizeof(int));
                *ret_n_fds = n_fds;
        } else
                close_fds(fds, n_fds);
        *ret = obj;
        return 0;
}

int ipc_peer_uid(int sock, uid_t *ret)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);

        assert(ret);
        if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        *ret = cred.uid;
        return 0;
}

static const struct {
        int error;
        const char *name;
} errno_names[] = {
        { EPERM, "EPERM" },   { ENOENT, "ENOENT" },       { EIO, "EIO" },     { EBADF, "EBADF" },
        { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },       { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" },
        { EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" },       { EPIPE, "EPIPE" }, { ENOLCK, "ENOLCK" },
        { ENOSYS, "ENOSYS" }, { EBADMSG, "EBADMSG" },     { ENODEV, "ENODEV" }, { ETIMEDOUT, "ETIMEDOUT" },
        { ECANCELED, "ECANCELED" }, { EOPNOTSUPP, "EOPNOTSUPP" }, { EPROTO, "EPROTO" },
        { ECONNREFUSED, "ECONNREFUSED" }, { EAGAIN, "EAGAIN" }, { ENAMETOOLONG, "ENAMETOOLONG" },
        { EPROTONOSUPPORT, "EPROTONOSUPPORT" }, { EFBIG, "EFBIG" },
};

const char *ipc_errno_name(int error)
{
        if (error < 0)
                error = -error;
        for (size_t i = 0; i < ELEMENTSOF(errno_names); i++)
                if (errno_names[i].error == error)
                        return errno_names[i].name;
        return NULL;
}

int ipc_errno_from_name(const char *name)
{
        if (!name)
                return -EIO;
        for (size_t i = 0; i < ELEMENTSOF(errno_names); i++)
                if (strcmp(errno_names[i].name, name) == 0)
                        return -errno_names[i].error;
        return -EIO;
}

json_object *ipc_reply_ok(int64_t id, json_object *result)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "id", json_object_new_int64(id));
        json_object_object_add(o, "ok", json_object_new_boolean(1));
        json_object_object_add(o, "result", result ? result : json_object_new_object());
        return o;
}

json_object *ipc_reply_error(int64_t id, int error, const char *message)
{
        json_object *o = json_object_new_object(), *e = json_object_new_object();
        const char *name = ipc_errno_name(error);

        json_object_object_add(e, "errno", json_object_new_string(name ? name : "EIO"));
        json_object_object_add(e, "code", json_object_new_int(error < 0 ? -error : error));
        json_object_object_add(e, "message", json_object_new_string(message ? message : strerror(-error)));
        json_object_object_add(o, "id", json_object_new_int64(id));
        json_object_object_add(o, "ok", json_object_new_boolean(0));
        json_object_object_add(o, "error", e);
        return o;
}

json_object *ipc_progress(int64_t id, json_object *progress)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "id", json_object_new_int64(id));
        json_object_object_add(o, "progress", progress);
        return o;
}

static int socket_address(const char *path, struct sockaddr_un *sa)
{
        if (!path || strlen(path) >= sizeof(sa->sun_path))
                return -ENAMETOOLONG;
        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        strcpy(sa->sun_path, path);
        return 0;
}

int ipc_listen(const char *path)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa;
        mode_t old;
        int r;

        r = socket_address(path, &sa);
        if (r < 0)
                return r;
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        if (mkdir(dirname(dir), 0700) < 0 && errno != EEXIST)
                return -errno;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(path); /* a stale socket of a previous run */
        /* Create the socket 0600 from the start: no window in which another
         * user could connect. */
        old = umask(0177);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return -errno;
        if (listen(fd, 16) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int ipc_connect(const char *path)
{
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa;
        int r;

        r = socket_address(path, &sa);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        return TAKE_FD(fd);
}
