/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPSC ring (ring.h). head and tail count slots forever (size_t wraps after
 * 2^64 frames, never in practice); the index is count & mask. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

#define CACHE_LINE 64

struct Ring {
        _Alignas(CACHE_LINE) atomic_size_t head;        /* written by the producer */
        _Alignas(CACHE_LINE) atomic_size_t tail;        /* written by the consumer */
        _Alignas(CACHE_LINE) size_t slot_size;
        size_t mask;
        unsigned char *data;
};

int ring_new(size_t slot_size, size_t n_slots, Ring **ret) {
        size_t n = 1;

        if (slot_size == 0 || n_slots == 0 || n_slots > SIZE_MAX / 2 / slot_size)
                return -EINVAL;
        while (n < n_slots)
                n <<= 1;
        Ring *r = aligned_alloc(CACHE_LINE, sizeof(Ring));
        if (!r)
                return -ENOMEM;
        *r = (Ring) { .slot_size = slot_size, .mask = n - 1 };
        atomic_init(&r->head, 0);
        atomic_init(&r->tail, 0);
        r->data = calloc(n, slot_size);
        if (!r->data) {
                free(r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

Ring *ring_free(Ring *r) {
        if (r) {
                free(r->data);
                free(r);
        }
        return NULL;
}

bool ring_push(Ring *r, const void *slot) {
        size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

        if (head - tail > r->mask)
                return false;
        memcpy(r->data + (head & r->mask) * r->slot_size, slot, r->slot_size);
        atomic_store_explicit(&r->head, head + 1, memory_order_release);
        return true;
}

bool ring_pop(Ring *r, void *slot) {
        size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        size_t head = atomic_load_explicit(&r->head, memory_order_acquire);

        if (head == tail)
                return false;
        memcpy(slot, r->data + (tail & r->mask) * r->slot_size, r->slot_size);
        atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
        return true;
}

size_t ring_count(Ring *r) {
        size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
        return MIN(head - tail, r->mask + 1);
}

size_t ring_capacity(const Ring *r) {
        return r->mask + 1;
}

size_t ring_slot_size(const Ring *r) {
        return r->slot_size;
}
