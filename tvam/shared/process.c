/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/shared/process.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int spawn_wait(const char *const argv[], bool quiet, int *ret_status)
{
        struct spawn_options opts = { .quiet = quiet, .pass_fd = -1 };
        pid_t pid;
        int r;

        r = spawn_async(argv, &opts, &pid, NULL);
        if (r < 0)
                return r;
        return spawn_reap(pid, ret_status);
}

int spawn_reap(pid_t pid, int *ret_status)
{
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (WIFEXITED(status)) {
                if (ret_status)
                        *ret_status = WEXITSTATUS(status);
                return WEXITSTATUS(status) == 0 ? 0 : -EPROTO;
        }
        if (ret_status)
                *ret_status = 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return -EPROTO;
}

int spawn_async(const char *const argv[], const struct spawn_options *opts, pid_t *ret_pid, int *ret_stdout_fd)
{
        posix_spawn_file_actions_t actions;
        int pipe_fds[2] = { -1, -1 }, r;
        pid_t pid;

        assert(argv && argv[0] && opts && ret_pid);
        assert(!opts->stdout_pipe || ret_stdout_fd);

        if (opts->stdout_pipe && pipe2(pipe_fds, O_CLOEXEC) < 0)
                return -errno;
        r = posix_spawn_file_actions_init(&actions);
        if (r != 0)
                goto fail_errno;
        /* dup2() onto a descriptor clears O_CLOEXEC there, so exactly the
         * mapped descriptors survive the exec. */
        if (opts->stdout_pipe)
                r = posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
        else if (opts->quiet)
                r = posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (r == 0 && opts->pass_fd >= 0)
                r = posix_spawn_file_actions_adddup2(&actions, opts->pass_fd, opts->pass_fd_as);
        if (r == 0)
                r = posix_spawnp(&pid, argv[0], &actions, NULL, (char *const *)argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        if (r != 0)
                goto fail_errno;
        if (opts->stdout_pipe) {
                close(pipe_fds[1]);
                *ret_stdout_fd = pipe_fds[0];
        }
        *ret_pid = pid;
        return 0;

fail_errno:
        if (pipe_fds[0] >= 0) {
                close(pipe_fds[0]);
                close(pipe_fds[1]);
        }
        return -r;
}

int spawn_capture(const char *const argv[], const struct spawn_options *pass, size_t max, char **ret_out,
        int *ret_status)
{
        struct spawn_options opts = { .stdout_pipe = true, .pass_fd = pass ? pass->pass_fd : -1,
                .pass_fd_as = pass ? pass->pass_fd_as : 0 };
        char *buf;
        size_t n = 0;
        bool too_big = false;
        pid_t pid;
        int fd, r;

        assert(ret_out && max > 0);
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        r = spawn_async(argv, &opts, &pid, &fd);
        if (r < 0) {
                free(buf);
                return r;
        }
        for (;;) {
                char sink[4096];
                ssize_t k = too_big ? read(fd, sink, sizeof(sink)) : read(fd, buf + n, max - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                if (!too_big) {
                        n += (size_t)k;
                        too_big = n == max;
                }
        }
        close(fd);
        buf[n] = '\0';
        r = spawn_reap(pid, ret_status);
        if (r == 0 && too_big) {
                free(buf);
                return -E2BIG;
        }
        *ret_out = buf;
        return r;
}
