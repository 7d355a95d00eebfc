/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Free heap memory back to the kernel.
 *
 * glibc gives freed memory back only from the top of the heap, only past
 * M_TRIM_THRESHOLD (128 KiB), and keeps M_TOP_PAD (128 KiB) of it: whole free
 * pages inside the heap stay resident until malloc reuses them. A daemon's
 * start-up (parsing the configuration, answering every service's GetAll,
 * building a CA list) leaves such pages behind, and a phone that sits idle
 * never reuses them. malloc_trim(0) releases them (madvise) and costs about
 * 20 µs on a 4 MiB heap, so a timer every few minutes costs nothing that
 * shows, and never runs in the middle of anything: it is an event of the
 * loop like any other. */
#include <malloc.h>

#include "log.h"
#include "macro.h"
#include "memory.h"

#define MEMORY_TRIM_FIRST_USEC (10ULL * 1000000ULL)      /* after the start-up */
#define MEMORY_TRIM_PERIOD_USEC (300ULL * 1000000ULL)
#define MEMORY_TRIM_ACCURACY_USEC (10ULL * 1000000ULL)   /* wakes with other timers */

static int on_trim(sd_event_source *s, uint64_t usec, void *userdata) {
        if (malloc_trim(0))
                log_debug("Gave free heap memory back to the kernel");
        /* A time source is one-shot: set the next time and switch it on again. */
        int r = sd_event_source_set_time(s, usec + MEMORY_TRIM_PERIOD_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Cannot re-arm the heap trim timer, stopping it: %m");
        return 0;
}

int memory_trim_install(sd_event *e) {
        /* A floating source: the loop owns it and frees it with itself. */
        return sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, MEMORY_TRIM_FIRST_USEC,
                                          MEMORY_TRIM_ACCURACY_USEC, on_trim, NULL);
}
