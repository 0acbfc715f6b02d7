/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/shared/process.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int spawn_wait(const char *const argv[], bool quiet, int *ret_status)
{
        posix_spawn_file_actions_t actions;
        pid_t pid;
        int r, status;

        assert(argv && argv[0]);

        r = posix_spawn_file_actions_init(&actions);
        if (r != 0)
                return -r;
        if (quiet) {
                r = posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
                if (r != 0) {
                        posix_spawn_file_actions_destroy(&actions);
                        return -r;
                }
        }
        /* posix_spawn's argv is "char *const[]" for historical reasons; the
         * strings are not modified. */
        r = posix_spawnp(&pid, argv[0], &actions, NULL, (char *const *)argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        if (r != 0)
                return -r;

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
