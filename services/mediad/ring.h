/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/*
 * A lock-free single-producer single-consumer ring of fixed-size slots (audio
 * frames), on C11 atomics: the producer owns head, the consumer owns tail, and
 * each publishes its index with release semantics after touching the slot, so
 * the other side (acquire) never sees a slot before its bytes. Between the
 * real-time audio thread and the event loop; no locks, no syscalls, no
 * allocation after ring_new().
 */

typedef struct Ring Ring;

/* n_slots is rounded up to a power of two. */
int ring_new(size_t slot_size, size_t n_slots, Ring **ret);
Ring *ring_free(Ring *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Ring *, ring_free);

/* Producer side. false when full (the slot is not written). */
bool ring_push(Ring *r, const void *slot);
/* Consumer side. false when empty. */
bool ring_pop(Ring *r, void *slot);
/* Either side: slots filled at this instant (a snapshot). */
size_t ring_count(Ring *r);
size_t ring_capacity(const Ring *r);
size_t ring_slot_size(const Ring *r);
