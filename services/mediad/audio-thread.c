/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audio thread (audio-thread.h). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <time.h>

#include "audio-thread.h"
#include "audio.h"
#include "log.h"
#include "ring.h"
#include "util.h"

/* A device that returns this many periods in a row at once has no clock. A real one gives
 * at most its buffer (4 periods) at once, when the thread was late. */
#define UNCLOCKED_FAST_CYCLES 5
#define PERIOD_USEC ((uint64_t) AUDIO_PERIOD_MS * 1000)
#define FAST_CYCLE_USEC (PERIOD_USEC / 8)
#define RT_PRIORITY 10

typedef struct Device {
        const struct audio_ops *ops;
        AudioPcm *pcm;
        char *name;
} Device;

struct AudioThread {
        pthread_t thread;
        bool thread_running;
        atomic_bool stop;
        Device playback, capture;
        Ring *capture_ring;             /* thread -> loop */
        Ring *playback_ring;            /* loop -> thread */
        int event_fd;
        sd_event_source *event_source;
        AudioFramesHandler on_frames;
        void *userdata;
        /* written by the thread, read by the loop */
        atomic_uint_fast64_t frames, overruns, underruns, errors;
        atomic_bool paced;
};

/* ---- devices ---- */

static int device_open(Device *d, const char *name, AudioDirection direction) {
        const char *dev;
        const struct audio_ops *ops = audio_ops_for(name, &dev);

        int r = ops->open(dev, direction, AUDIO_RATE, AUDIO_PERIOD, &d->pcm);
        if (r < 0) {
                log_warning("No %s device (%s), using silence instead", direction == AUDIO_PLAYBACK ? "playback"
                                                                                                    : "capture", name);
                ops = &audio_null_ops;
                name = "null";
                r = ops->open("null", direction, AUDIO_RATE, AUDIO_PERIOD, &d->pcm);
                if (r < 0)
                        return r;
        }
        d->ops = ops;
        d->name = strdup(name);
        return d->name ? 0 : -ENOMEM;
}

static void device_close(Device *d) {
        if (d->ops && d->pcm)
                d->ops->close(d->pcm);
        free(d->name);
        *d = (Device) {};
}

/* ---- the thread ---- */

static void sleep_until(uint64_t usec) {
        struct timespec t = { .tv_sec = (time_t) (usec / 1000000), .tv_nsec = (long) (usec % 1000000) * 1000 };

        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
                ;
}

/* Real-time priority is for a device's deadline. A thread that keeps time itself has none
 * (files, null: tests, benchmarks, or no sound card), and on a VM a real-time wake-up costs
 * about 40% more CPU, so it runs as an ordinary thread. */
static void set_realtime(bool on) {
        struct sched_param p = { .sched_priority = on ? RT_PRIORITY : 0 };
        int r = pthread_setschedparam(pthread_self(), on ? SCHED_FIFO : SCHED_OTHER, &p);
        if (r != 0 && on)
                log_debug_errno(r, "No real-time priority for the audio thread, ignoring: %m");
}

/* One period: capture, hand to the loop, take from the loop, play. false if a device failed. */
static bool cycle(AudioThread *a) {
        int16_t period[AUDIO_PERIOD];
        uint64_t one = 1;
        bool ok = true;

        if (a->capture.ops->read(a->capture.pcm, period, AUDIO_PERIOD) < 0) {
                memset(period, 0, sizeof(period));
                atomic_fetch_add_explicit(&a->errors, 1, memory_order_relaxed);
                ok = false;
        }
        for (size_t i = 0; i < AUDIO_PERIOD_FRAMES; i++)
                if (!ring_push(a->capture_ring, period + i * AUDIO_FRAME))
                        atomic_fetch_add_explicit(&a->overruns, 1, memory_order_relaxed);
        /* one wake-up of the loop per period; the counter is never read (see on_event) */
        (void) !write(a->event_fd, &one, sizeof(one));

        for (size_t i = 0; i < AUDIO_PERIOD_FRAMES; i++)
                if (!ring_pop(a->playback_ring, period + i * AUDIO_FRAME)) {
                        memset(period + i * AUDIO_FRAME, 0, sizeof(int16_t) * AUDIO_FRAME);
                        atomic_fetch_add_explicit(&a->underruns, 1, memory_order_relaxed);
                }
        if (a->playback.ops->write(a->playback.pcm, period, AUDIO_PERIOD) < 0) {
                atomic_fetch_add_explicit(&a->errors, 1, memory_order_relaxed);
                ok = false;
        }
        atomic_fetch_add_explicit(&a->frames, AUDIO_PERIOD_FRAMES, memory_order_relaxed);
        return ok;
}

/* When the thread starts keeping time, the periods a device without a clock gave at once
 * are paid back by sleeping, so a second still has 50 periods; not when the device's clock
 * drifted from ours over a long call: then from now. */
static uint64_t first_paced(uint64_t next) {
        uint64_t now = now_usec();

        return next < now || next - now > UNCLOCKED_FAST_CYCLES * PERIOD_USEC ? now : next;
}

static void *audio_thread_main(void *userdata) {
        AudioThread *a = userdata;
        bool paced = !a->capture.ops->clocked(a->capture.pcm) && !a->playback.ops->clocked(a->playback.pcm);
        uint64_t next = now_usec();     /* when the period should start, in real time */
        unsigned fast = 0;

        if (!paced)
                set_realtime(true);
        atomic_store(&a->paced, paced);
        while (!atomic_load_explicit(&a->stop, memory_order_acquire)) {
                if (paced)
                        sleep_until(next);
                uint64_t t = now_usec();
                bool ok = cycle(a);
                next += PERIOD_USEC;
                if (paced)
                        continue;
                /* a "clocked" device that returns at once, again and again, has no clock (ALSA's
                 * null plugin), and one that fails returns at once too: keep time ourselves */
                fast = now_usec() - t < FAST_CYCLE_USEC ? fast + 1 : 0;
                if (!ok || fast >= UNCLOCKED_FAST_CYCLES) {
                        paced = true;
                        next = first_paced(next);
                        set_realtime(false);
                        atomic_store(&a->paced, true);
                }
        }
        return NULL;
}

/* ---- the loop side ---- */

/* The eventfd is watched edge-triggered: every write() to an eventfd is an edge for epoll
 * (the counter need not go from 0 to non-zero), so the loop never reads it, which saves a
 * system call per period. The counter, one more per period, cannot fill in 2^64 periods. */
static int on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        AudioThread *a = userdata;

        a->on_frames(a, a->userdata);
        return 0;
}

bool audio_thread_pop_capture(AudioThread *a, int16_t frame[AUDIO_FRAME]) {
        return ring_pop(a->capture_ring, frame);
}

bool audio_thread_push_playback(AudioThread *a, const int16_t frame[AUDIO_FRAME]) {
        return ring_push(a->playback_ring, frame);
}

unsigned audio_thread_playback_queued(AudioThread *a) {
        return (unsigned) ring_count(a->playback_ring);
}

void audio_thread_get_stats(AudioThread *a, AudioStats *ret) {
        *ret = (AudioStats) {
                .frames = atomic_load(&a->frames),
                .capture_overruns = atomic_load(&a->overruns),
                .playback_underruns = atomic_load(&a->underruns),
                .device_errors = atomic_load(&a->errors),
                .paced = atomic_load(&a->paced),
        };
}

const char *audio_thread_playback_name(AudioThread *a) {
        return a->playback.name;
}

const char *audio_thread_capture_name(AudioThread *a) {
        return a->capture.name;
}

AudioThread *audio_thread_stop(AudioThread *a) {
        if (!a)
                return NULL;
        if (a->thread_running) {
                atomic_store_explicit(&a->stop, true, memory_order_release);
                pthread_join(a->thread, NULL);
        }
        sd_event_source_disable_unref(a->event_source);
        closep(&a->event_fd);
        device_close(&a->playback);
        device_close(&a->capture);
        ring_free(a->capture_ring);
        ring_free(a->playback_ring);
        free(a);
        return NULL;
}

static int prefill_playback(AudioThread *a) {
        int16_t silence[AUDIO_FRAME] = {};
        for (unsigned i = 0; i < AUDIO_PLAYBACK_PREFILL; i++)
                if (!ring_push(a->playback_ring, silence))
                        return -ENOBUFS;
        return 0;
}

int audio_thread_start(sd_event *event, const char *playback, const char *capture, AudioFramesHandler on_frames,
                       void *userdata, AudioThread **ret) {
        _cleanup_(audio_thread_stopp) AudioThread *a = calloc(1, sizeof(AudioThread));
        if (!a)
                return -ENOMEM;
        a->event_fd = -1;
        a->on_frames = on_frames;
        a->userdata = userdata;

        int r = ring_new(sizeof(int16_t) * AUDIO_FRAME, AUDIO_RING_FRAMES, &a->capture_ring);
        if (r >= 0)
                r = ring_new(sizeof(int16_t) * AUDIO_FRAME, AUDIO_RING_FRAMES, &a->playback_ring);
        if (r >= 0)
                r = prefill_playback(a);
        if (r < 0)
                return r;
        a->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (a->event_fd < 0)
                return -errno;
        r = sd_event_add_io(event, &a->event_source, a->event_fd, EPOLLIN | EPOLLET, on_event, a);
        if (r < 0)
                return r;
        r = device_open(&a->capture, capture, AUDIO_CAPTURE);
        if (r >= 0)
                r = device_open(&a->playback, playback, AUDIO_PLAYBACK);
        if (r < 0)
                return r;
        r = pthread_create(&a->thread, NULL, audio_thread_main, a);
        if (r != 0)
                return -r;
        a->thread_running = true;
        log_debug("Audio running: playback %s, capture %s", a->playback.name, a->capture.name);
        *ret = TAKE_PTR(a);
        return 0;
}
