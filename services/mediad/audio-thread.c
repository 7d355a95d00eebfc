/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audio thread (audio-thread.h). */
#include <math.h>
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

#define START_PREFILL (2 * AUDIO_PERIOD) /* silence queued at start on a playback device with a queue */

typedef struct Device {
        const struct audio_ops *ops;
        AudioPcm *pcm;
        char *name;
} Device;

/* A switch of devices: the loop opens the new ones, the thread swaps them with its own at a
 * period boundary and hands the old ones back for the loop to close. */
typedef struct Handoff {
        Device playback, capture;       /* no ops: that direction stays */
        uint64_t drain_usec;            /* thread: how long the old playback device plays on */
} Handoff;

struct AudioThread {
        pthread_t thread;
        bool thread_running;
        atomic_bool stop;
        Device playback, capture;       /* the thread's while it runs */
        Ring *capture_ring;             /* thread -> loop */
        Ring *playback_ring;            /* loop -> thread */
        Ring *handoff_ring;             /* loop -> thread: Handoff *, one at a time */
        Ring *retired_ring;             /* thread -> loop: the same Handoff *, with the old devices */
        Handoff *switching;             /* loop: the switch in flight, until its old devices are closed */
        sd_event_source *drain_source;  /* loop: closes them once the old playback device played out */
        char *playback_name, *capture_name; /* loop: the devices in use or being switched to */
        int event_fd;
        sd_event_source *event_source;
        AudioFramesHandler on_frames;
        void *userdata;
        /* written by the thread, read by the loop */
        atomic_uint_fast64_t frames, overruns, underruns, errors, switches, late_max;
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

static bool device_clocked(const Device *d) {
        return d->ops->clocked(d->pcm);
}

static Handoff *handoff_free(Handoff *h) {
        if (h) {
                device_close(&h->playback);
                device_close(&h->capture);
                free(h);
        }
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Handoff *, handoff_free);

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

static bool device_read(AudioThread *a, Device *d, int16_t period[AUDIO_PERIOD]) {
        if (d->ops->read(d->pcm, period, AUDIO_PERIOD) >= 0)
                return true;
        memset(period, 0, sizeof(int16_t) * AUDIO_PERIOD);
        atomic_fetch_add_explicit(&a->errors, 1, memory_order_relaxed);
        return false;
}

static bool device_write(AudioThread *a, Device *d, const int16_t *buf, size_t n) {
        if (d->ops->write(d->pcm, buf, n) >= 0)
                return true;
        atomic_fetch_add_explicit(&a->errors, 1, memory_order_relaxed);
        return false;
}

/* Over one frame, linear: from fades out while to fades in; the two weights sum to one. */
static void crossfade(const int16_t *from, const int16_t *to, int16_t *out) {
        for (size_t i = 0; i < AUDIO_FRAME; i++) {
                float w = ((float) i + 0.5f) / AUDIO_FRAME;
                out[i] = (int16_t) lrintf((float) from[i] * (1.0f - w) + (float) to[i] * w);
        }
}

/* One period captured. At a switch the new device, started when the loop opened it, keeps its
 * last period: the same time as the old device's, so the second frame crossfades from one
 * microphone to the other and the next period comes from the new one, none lost or twice. */
static bool capture_period(AudioThread *a, Handoff *h, int16_t period[AUDIO_PERIOD]) {
        int16_t fresh[AUDIO_PERIOD];
        Device old;

        bool ok = device_read(a, &a->capture, period);
        if (!h || !h->capture.ops)
                return ok;
        (void) audio_align(h->capture.ops, h->capture.pcm, AUDIO_PERIOD);
        ok = device_read(a, &h->capture, fresh) && ok;
        crossfade(period + AUDIO_FRAME, fresh + AUDIO_FRAME, period + AUDIO_FRAME);
        old = a->capture;
        a->capture = h->capture;
        h->capture = old;
        return ok;
}

/* One period played. At a switch the old device plays the period with its second frame
 * fading out; the new one starts with as much silence as the old one has queued, then that
 * frame fading in, so both play it at the same moment: a crossfade between loudspeakers. */
static bool playback_period(AudioThread *a, Handoff *h, int16_t period[AUDIO_PERIOD]) {
        int16_t silence[AUDIO_FRAME] = {}, in[AUDIO_FRAME];
        int16_t *last = period + AUDIO_FRAME;
        Device old;

        if (!h || !h->playback.ops)
                return device_write(a, &a->playback, period, AUDIO_PERIOD);
        size_t queued = audio_delay(a->playback.ops, a->playback.pcm);
        crossfade(silence, last, in);
        crossfade(last, silence, last);
        bool ok = device_write(a, &a->playback, period, AUDIO_PERIOD);
        (void) audio_align(h->playback.ops, h->playback.pcm, queued + AUDIO_FRAME);
        ok = device_write(a, &h->playback, in, AUDIO_FRAME) && ok;
        if (device_clocked(&a->playback))
                h->drain_usec = (uint64_t) (queued + AUDIO_PERIOD) * 1000000 / AUDIO_RATE;
        old = a->playback;
        a->playback = h->playback;
        h->playback = old;
        return ok;
}

/* One period: capture, hand to the loop, take from the loop, play; with h, switch devices.
 * false if a device failed. */
static bool cycle(AudioThread *a, Handoff *h) {
        int16_t period[AUDIO_PERIOD];
        uint64_t one = 1;

        bool ok = capture_period(a, h, period);
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
        ok = playback_period(a, h, period) && ok;
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

static bool unclocked(AudioThread *a) {
        return !device_clocked(&a->capture) && !device_clocked(&a->playback);
}

/* After a switch: the new devices may have a clock where the old had none, or the other way. */
static void repace(AudioThread *a, bool *paced, uint64_t *next) {
        bool p = unclocked(a);

        if (p == *paced)
                return;
        *paced = p;
        *next = now_usec() + PERIOD_USEC; /* the period just done was on time */
        set_realtime(!p);
        atomic_store(&a->paced, p);
}

static void *audio_thread_main(void *userdata) {
        AudioThread *a = userdata;
        bool paced = unclocked(a);
        uint64_t next = now_usec();     /* when the period should start, in real time */
        unsigned fast = 0;

        if (!paced)
                set_realtime(true);
        atomic_store(&a->paced, paced);
        while (!atomic_load_explicit(&a->stop, memory_order_acquire)) {
                Handoff *h = NULL;

                if (paced)
                        sleep_until(next);
                uint64_t t = now_usec();
                if (paced && t > next && t - next > atomic_load_explicit(&a->late_max, memory_order_relaxed))
                        atomic_store_explicit(&a->late_max, t - next, memory_order_relaxed);
                (void) ring_pop(a->handoff_ring, &h);
                bool ok = cycle(a, h);
                next += PERIOD_USEC;
                if (h) {
                        (void) ring_push(a->retired_ring, &h); /* room for one: one switch at a time */
                        atomic_fetch_add_explicit(&a->switches, 1, memory_order_relaxed);
                        repace(a, &paced, &next);
                        fast = 0;
                }
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

static void switch_done(AudioThread *a) {
        a->drain_source = sd_event_source_disable_unref(a->drain_source);
        a->switching = handoff_free(a->switching);
}

static int on_drained(sd_event_source *s, uint64_t usec, void *userdata) {
        switch_done(userdata);
        return 0;
}

/* The thread is done with a switch: close the old devices, once the old playback device has
 * played what it has queued (a closed ALSA device would drop it). */
static void collect_switch(AudioThread *a) {
        Handoff *h;

        if (!ring_pop(a->retired_ring, &h))
                return;
        if (h->drain_usec > 0 &&
            sd_event_add_time_relative(sd_event_source_get_event(a->event_source), &a->drain_source,
                                       CLOCK_MONOTONIC, h->drain_usec, 0, on_drained, a) >= 0)
                return;
        switch_done(a);
}

/* The eventfd is watched edge-triggered: every write() to an eventfd is an edge for epoll
 * (the counter need not go from 0 to non-zero), so the loop never reads it, which saves a
 * system call per period. The counter, one more per period, cannot fill in 2^64 periods. */
static int on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        AudioThread *a = userdata;

        if (a->switching && !a->drain_source)
                collect_switch(a);
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
                .switches = atomic_load(&a->switches),
                .paced = atomic_load(&a->paced),
                .late_max_usec = atomic_load(&a->late_max),
        };
}

const char *audio_thread_playback_name(AudioThread *a) {
        return a->playback_name;
}

const char *audio_thread_capture_name(AudioThread *a) {
        return a->capture_name;
}

bool audio_thread_switching(AudioThread *a) {
        return a->switching;
}

static void free_and_replace(char **p, char **q) {
        free(*p);
        *p = *q;
        *q = NULL;
}

int audio_thread_switch(AudioThread *a, const char *playback, const char *capture) {
        _cleanup_(handoff_freep) Handoff *h = NULL;
        _cleanup_(freep) char *play_name = NULL, *cap_name = NULL;

        if (a->switching)
                return -EBUSY;
        if (!playback && !capture)
                return 0;
        h = calloc(1, sizeof(Handoff));
        if (!h)
                return -ENOMEM;
        int r = capture ? device_open(&h->capture, capture, AUDIO_CAPTURE) : 0;
        if (r >= 0 && playback)
                r = device_open(&h->playback, playback, AUDIO_PLAYBACK);
        if (r < 0)
                return r;
        play_name = strdup(h->playback.ops ? h->playback.name : a->playback_name);
        cap_name = strdup(h->capture.ops ? h->capture.name : a->capture_name);
        if (!play_name || !cap_name)
                return -ENOMEM;
        if (!ring_push(a->handoff_ring, &h))
                return -EBUSY;
        free_and_replace(&a->playback_name, &play_name);
        free_and_replace(&a->capture_name, &cap_name);
        a->switching = TAKE_PTR(h);
        log_debug("Audio switching to playback %s, capture %s", a->playback_name, a->capture_name);
        return 0;
}

AudioThread *audio_thread_stop(AudioThread *a) {
        Handoff *h;

        if (!a)
                return NULL;
        if (a->thread_running) {
                atomic_store_explicit(&a->stop, true, memory_order_release);
                pthread_join(a->thread, NULL);
        }
        /* a switch the thread never took, or one whose old devices still play out */
        if (a->handoff_ring)
                while (ring_pop(a->handoff_ring, &h))
                        ;
        if (a->retired_ring)
                while (ring_pop(a->retired_ring, &h))
                        ;
        switch_done(a);
        sd_event_source_disable_unref(a->event_source);
        closep(&a->event_fd);
        device_close(&a->playback);
        device_close(&a->capture);
        ring_free(a->capture_ring);
        ring_free(a->playback_ring);
        ring_free(a->handoff_ring);
        ring_free(a->retired_ring);
        free(a->playback_name);
        free(a->capture_name);
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

static int make_rings(AudioThread *a) {
        int r = ring_new(sizeof(int16_t) * AUDIO_FRAME, AUDIO_RING_FRAMES, &a->capture_ring);
        if (r >= 0)
                r = ring_new(sizeof(int16_t) * AUDIO_FRAME, AUDIO_RING_FRAMES, &a->playback_ring);
        if (r >= 0)
                r = ring_new(sizeof(Handoff *), 1, &a->handoff_ring);
        if (r >= 0)
                r = ring_new(sizeof(Handoff *), 1, &a->retired_ring);
        if (r >= 0)
                r = prefill_playback(a);
        return r;
}

static int open_devices(AudioThread *a, const char *playback, const char *capture) {
        int r = device_open(&a->capture, capture, AUDIO_CAPTURE);
        if (r >= 0)
                r = device_open(&a->playback, playback, AUDIO_PLAYBACK);
        if (r < 0)
                return r;
        (void) audio_align(a->playback.ops, a->playback.pcm, START_PREFILL);
        a->playback_name = strdup(a->playback.name);
        a->capture_name = strdup(a->capture.name);
        return a->playback_name && a->capture_name ? 0 : -ENOMEM;
}

int audio_thread_start(sd_event *event, const char *playback, const char *capture, AudioFramesHandler on_frames,
                       void *userdata, AudioThread **ret) {
        _cleanup_(audio_thread_stopp) AudioThread *a = calloc(1, sizeof(AudioThread));
        if (!a)
                return -ENOMEM;
        a->event_fd = -1;
        a->on_frames = on_frames;
        a->userdata = userdata;

        int r = make_rings(a);
        if (r < 0)
                return r;
        a->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (a->event_fd < 0)
                return -errno;
        r = sd_event_add_io(event, &a->event_source, a->event_fd, EPOLLIN | EPOLLET, on_event, a);
        if (r < 0)
                return r;
        r = open_devices(a, playback, capture);
        if (r < 0)
                return r;
        r = pthread_create(&a->thread, NULL, audio_thread_main, a);
        if (r != 0)
                return -r;
        a->thread_running = true;
        log_debug("Audio running: playback %s, capture %s", a->playback_name, a->capture_name);
        *ret = TAKE_PTR(a);
        return 0;
}
