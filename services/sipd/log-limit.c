/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Rate-limited logging of events an outsider can repeat (log-limit.h). */
#include <limits.h>

#include "log-limit.h"

bool log_limit_pass(LogLimit *l, uint64_t interval_usec, uint64_t now, unsigned *ret_suppressed) {
        if (l->logged && now >= l->last && now - l->last < interval_usec) {
                if (l->suppressed < UINT_MAX)
                        l->suppressed++;
                return false;
        }
        *ret_suppressed = l->suppressed;
        *l = (LogLimit) { .last = now, .logged = true };
        return true;
}
