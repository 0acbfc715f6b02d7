/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Running external programs: always from an argv array (posix_spawnp), never
 * through a shell (STYLE.md §7).  Our own descriptors are O_CLOEXEC, so the
 * child inherits only stdin/stdout/stderr.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Run ARGV[0] (looked up in PATH) with ARGV and wait.  With QUIET the
 * child's stdout goes to /dev/null.  Returns 0 if it exited 0, -EPROTO if
 * it exited non-zero or was killed (*ret_status, optional, gets the exit
 * status or 128+signal), or a negative errno if it could not be started. */
int spawn_wait(const char *const argv[], bool quiet, int *ret_status);

/* Descriptor plumbing for spawn_async(). */
struct spawn_options {
        bool quiet;           /* stdout to /dev/null (ignored with stdout_pipe) */
        bool stdout_pipe;     /* *ret_stdout_fd gets the read end of the child's stdout */
        int pass_fd;          /* >= 0: this descriptor appears in the child as PASS_FD_AS */
        int pass_fd_as;       /* e.g. 10, so the child can open "/dev/fd/10" */
};

/* Start ARGV[0] without waiting.  *ret_pid gets the child; with
 * OPTS->stdout_pipe, *ret_stdout_fd the O_CLOEXEC read end of its stdout. */
int spawn_async(const char *const argv[], const struct spawn_options *opts, pid_t *ret_pid, int *ret_stdout_fd);

/* Wait for PID; same result convention as spawn_wait(). */
int spawn_reap(pid_t pid, int *ret_status);

/* Run ARGV and collect its stdout (NUL-terminated; output of MAX bytes or
 * more is -E2BIG).  OPTS (may be NULL) passes a descriptor; its stdout
 * fields are ignored.  Result convention as spawn_wait(); *ret_out is set
 * (free it) whenever the child ran, also when it exited non-zero. */
int spawn_capture(const char *const argv[], const struct spawn_options *opts, size_t max, char **ret_out,
        int *ret_status);
