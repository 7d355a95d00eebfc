/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * At most one log line per interval for one kind of event an outsider can
 * repeat at will (a refused request): the lines in between are counted, and
 * the next line that goes out says how many were left out.
 *
 *     static LogLimit limit;
 *     unsigned skipped;
 *     if (log_limit_pass(&limit, 10 * USEC_PER_SEC, now_usec(), &skipped))
 *             log_notice("Refusing ...%s", ...skipped...);
 */
typedef struct LogLimit {
        uint64_t last;          /* when a line last went out (CLOCK_MONOTONIC µs) */
        unsigned suppressed;    /* lines left out since */
        bool logged;            /* a line went out once */
} LogLimit;

/* true: log now, *ret_suppressed lines were left out before this one; false: leave it out. */
bool log_limit_pass(LogLimit *l, uint64_t interval_usec, uint64_t now, unsigned *ret_suppressed);
