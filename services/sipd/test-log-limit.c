/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>

#include "log-limit.h"
#include "tap.h"

#define S 1000000ULL

int main(void) {
        LogLimit l = {};
        unsigned skipped = 42;

        tap_begin("/log-limit/first-passes");
        check(log_limit_pass(&l, 10 * S, 5 * S, &skipped) && skipped == 0, "skipped=%u", skipped);
        tap_end();

        tap_begin("/log-limit/within-interval-counted");
        bool any = false;
        for (unsigned i = 1; i <= 100; i++)
                any |= log_limit_pass(&l, 10 * S, 5 * S + i * 1000, &skipped);
        check(!any && l.suppressed == 100, "passed=%d suppressed=%u", any, l.suppressed);
        tap_end();

        tap_begin("/log-limit/next-line-counts-them");
        skipped = 0;
        check(log_limit_pass(&l, 10 * S, 15 * S, &skipped) && skipped == 100, "skipped=%u", skipped);
        check(!log_limit_pass(&l, 10 * S, 25 * S - 1, &skipped), "passed before the interval");
        check(log_limit_pass(&l, 10 * S, 25 * S, &skipped) && skipped == 1, "skipped=%u", skipped);
        tap_end();

        tap_begin("/log-limit/clock-at-zero");
        LogLimit z = {};
        check(log_limit_pass(&z, 10 * S, 0, &skipped) && skipped == 0, "first line at time 0");
        check(!log_limit_pass(&z, 10 * S, 1, &skipped), "second line at time 1");
        tap_end();

        tap_begin("/log-limit/clock-backwards-passes");
        LogLimit b = { .last = 50 * S, .logged = true, .suppressed = 3 };
        check(log_limit_pass(&b, 10 * S, 40 * S, &skipped) && skipped == 3, "skipped=%u", skipped);
        tap_end();

        tap_begin("/log-limit/count-saturates");
        LogLimit f = { .last = 0, .logged = true, .suppressed = UINT_MAX };
        check(!log_limit_pass(&f, 10 * S, 1, &skipped) && f.suppressed == UINT_MAX, "suppressed=%u", f.suppressed);
        tap_end();
        return tap_finish();
}
