/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of tvamd's framing and descriptor passing (socketpair). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "tvam/ipc/ipc.h"
#include "tvam/shared/fileio.h"

static void pair(int sv[2])
{
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void test_roundtrip_with_fds(void **state)
{
        int sv[2], p[2], fds[IPC_FDS_MAX];
        size_t n_fds = 0;
        json_object *msg = json_object_new_object(), *got = NULL, *v;
        char buf[8] = {};

        (void)state;
        pair(sv);
        assert_int_equal(pipe(p), 0);
        json_object_object_add(msg, "id", json_object_new_int(7));
        json_object_object_add(msg, "method", json_object_new_string("import"));
        assert_int_equal(ipc_send(sv[0], msg, &p[1], 1), 0);
        assert_int_equal(ipc_recv(sv[1], &got, fds, &n_fds), 0);
        assert_int_equal(n_fds, 1);
        assert_true(json_object_object_get_ex(got, "method", &v));
        assert_string_equal(json_object_get_string(v), "import");

        /* The received descriptor is the pipe's write end. */
        assert_int_equal(write(fds[0], "tvam", 4), 4);
        assert_int_equal(read(p[0], buf, 4), 4);
        assert_string_equal(buf, "tvam");

        json_object_put(msg);
        json_object_put(got);
        close(fds[0]);
        close(p[0]);
        close(p[1]);
        close(sv[0]);
        close(sv[1]);
}

static void send_raw(int sock, const char *payload, uint32_t claimed_len)
{
        uint8_t h[4] = { (uint8_t)(claimed_len >> 24), (uint8_t)(claimed_len >> 16), (uint8_t)(claimed_len >> 8),
                (uint8_t)claimed_len };
        assert_int_equal(write_all(sock, h, 4), 0);
        assert_int_equal(write_all(sock, payload, strlen(payload)), 0);
}

static void expect_bad(const char *payload, uint32_t len)
{
        int sv[2];
        json_object *got = NULL;

        pair(sv);
        send_raw(sv[0], payload, len);
        shutdown(sv[0], SHUT_WR);
        assert_int_equal(ipc_recv(sv[1], &got, NULL, NULL), -EBADMSG);
        assert_null(got);
        close(sv[0]);
        close(sv[1]);
}

static void test_malformed_frames(void **state)
{
        (void)state;
        expect_bad("[1,2]", 5);              /* not an object */
        expect_bad("{}x", 3);                /* trailing garbage */
        expect_bad("{\"a\":", 5);            /* truncated JSON */
        expect_bad("{}", 10);                /* length beyond the data */
        expect_bad("", 0);                   /* empty */
        expect_bad("{}", IPC_MESSAGE_MAX + 1); /* oversized */
        expect_bad("\"str\"", 5);
}

static void test_eof_and_peer(void **state)
{
        int sv[2];
        json_object *got = NULL;
        uid_t uid = 12345;

        (void)state;
        pair(sv);
        assert_int_equal(ipc_peer_uid(sv[1], &uid), 0);
        assert_int_equal(uid, getuid());
        close(sv[0]);
        assert_int_equal(ipc_recv(sv[1], &got, NULL, NULL), -ECONNRESET);
        close(sv[1]);
}

static void test_replies_and_errno_names(void **state)
{
        json_object *r = ipc_reply_error(3, -EEXIST, "application 'web' exists"), *e, *v;

        (void)state;
        assert_true(json_object_object_get_ex(r, "error", &e));
        assert_true(json_object_object_get_ex(e, "errno", &v));
        assert_string_equal(json_object_get_string(v), "EEXIST");
        assert_true(json_object_object_get_ex(e, "message", &v));
        assert_string_equal(json_object_get_string(v), "application 'web' exists");
        json_object_put(r);
        assert_int_equal(ipc_errno_from_name("ENOLCK"), -ENOLCK);
        assert_int_equal(ipc_errno_from_name("EWHATEVER"), -EIO);
        assert_string_equal(ipc_errno_name(-EPERM), "EPERM");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip_with_fds),
                cmocka_unit_test(test_malformed_frames),
                cmocka_unit_test(test_eof_and_peer),
                cmocka_unit_test(test_replies_and_errno_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
