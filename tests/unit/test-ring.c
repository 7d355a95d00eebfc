/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SPSC ring: single-threaded edge cases, then a producer and a consumer
 * thread passing a million numbered frames, none lost, duplicated or reordered. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "ring.h"
#include "tap.h"

#define FRAMES 1000000
#define SLOT 160

typedef struct Frame {
        uint64_t n;
        int16_t samples[SLOT - 4];
} Frame;

static void test_basic(void) {
        _cleanup_(ring_freep) Ring *r = NULL;
        uint32_t v;

        tap_begin("/ring/basic");
        check(ring_new(sizeof(uint32_t), 5, &r) == 0);
        check(ring_capacity(r) == 8 && ring_slot_size(r) == 4);
        check(!ring_pop(r, &v) && ring_count(r) == 0);
        for (uint32_t i = 0; i < 8; i++)
                check(ring_push(r, &i));
        v = 99;
        check(!ring_push(r, &v) && ring_count(r) == 8);
        for (uint32_t i = 0; i < 8; i++)
                check(ring_pop(r, &v) && v == i);
        check(!ring_pop(r, &v));
        /* wrap the indices many times */
        for (uint32_t i = 0; i < 1000; i++) {
                check(ring_push(r, &i) && ring_push(r, &i));
                uint32_t a, b;
                check(ring_pop(r, &a) && ring_pop(r, &b) && a == i && b == i);
        }
        check(ring_new(0, 4, &r) == -EINVAL);
        tap_end();
}

typedef struct Shared {
        Ring *ring;
        uint64_t bad;
} Shared;

static void *producer(void *p) {
        Shared *s = p;
        Frame f = {};
        for (uint64_t i = 0; i < FRAMES; i++) {
                f.n = i;
                f.samples[0] = (int16_t) i;
                f.samples[SLOT - 5] = (int16_t) ~i;
                while (!ring_push(s->ring, &f))
                        sched_yield();
        }
        return NULL;
}

static void *consumer(void *p) {
        Shared *s = p;
        Frame f;
        for (uint64_t i = 0; i < FRAMES; i++) {
                while (!ring_pop(s->ring, &f))
                        sched_yield();
                if (f.n != i || f.samples[0] != (int16_t) i || f.samples[SLOT - 5] != (int16_t) ~i)
                        s->bad++;
        }
        return NULL;
}

static void test_threads(void) {
        Shared s = {};
        pthread_t a, b;

        tap_begin("/ring/two-threads-million-frames");
        check(ring_new(sizeof(Frame), 16, &s.ring) == 0);
        check(pthread_create(&b, NULL, consumer, &s) == 0 && pthread_create(&a, NULL, producer, &s) == 0);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        check(s.bad == 0, "%llu frames wrong", (unsigned long long) s.bad);
        check(ring_count(s.ring) == 0);
        ring_free(s.ring);
        tap_end();
}

int main(void) {
        test_basic();
        test_threads();
        return tap_finish();
}
