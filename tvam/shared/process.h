/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Running external programs: always from an argv array (posix_spawnp), never
 * through a shell (STYLE.md §7).  Our own descriptors are O_CLOEXEC, so the
 * child inherits only stdin/stdout/stderr.
 */

#include <stdbool.h>

/* Run ARGV[0] (looked up in PATH) with ARGV and wait.  With QUIET the
 * child's stdout goes to /dev/null.  Returns 0 if it exited 0, -EPROTO if
 * it exited non-zero or was killed (*ret_status, optional, gets the exit
 * status or 128+signal), or a negative errno if it could not be started. */
int spawn_wait(const char *const argv[], bool quiet, int *ret_status);
