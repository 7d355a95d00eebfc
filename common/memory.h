/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-event.h>

/* Gives the heap's free pages back to the kernel (malloc_trim) 10 s after the call,
 * then every 5 minutes, on a timer owned by the event loop. 0 or a negative errno. */
int memory_trim_install(sd_event *e);
