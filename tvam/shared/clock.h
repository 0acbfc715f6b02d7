/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Seconds on CLOCK_MONOTONIC (not wall time: it never jumps), for timing
 * phases and rate limits. */
double monotonic_s(void);
