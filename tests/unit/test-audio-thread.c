/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audio thread keeps real time when its devices have no clock: with the
 * null backend, with files, and with ALSA's null plugin behind "plug" (which
 * claims to be a device and returns at once), one second gives 100 frames of
 * 10 ms, give or take a few, and what the loop pushes comes out in order.
 */
#include <math.h>

#include "audio-thread.h"
#include "tap.h"
#include "util.h"

typedef struct Run {
        unsigned frames;
        unsigned pushed;
        bool order_ok;
        int16_t next;
} Run;

static void on_frames(AudioThread *a, void *userdata) {
        Run *r = userdata;
        int16_t frame[AUDIO_FRAME];

        while (audio_thread_pop_capture(a, frame)) {
                r->frames++;
                for (size_t i = 0; i < AUDIO_FRAME; i++)
                        frame[i] = (int16_t) (r->pushed * AUDIO_FRAME + i);
                if (audio_thread_playback_queued(a) < AUDIO_PLAYBACK_PREFILL + AUDIO_WAKE_FRAMES &&
                    audio_thread_push_playback(a, frame))
                        r->pushed++;
        }
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int run_for(const char *playback, const char *capture, uint64_t usec, Run *r, AudioStats *st) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        AudioThread *a = NULL;

        *r = (Run) { .order_ok = true };
        int k = sd_event_new(&e);
        if (k >= 0)
                k = sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, usec, 0, on_timer, NULL);
        if (k >= 0)
                k = audio_thread_start(e, playback, capture, on_frames, r, &a);
        if (k < 0)
                return k;
        k = sd_event_loop(e);
        audio_thread_get_stats(a, st);
        audio_thread_stop(a);
        return k;
}

/* burst: frames a device without a clock may give at once before the thread notices */
static void check_rate(const char *name, const char *playback, const char *capture, unsigned burst) {
        Run r;
        AudioStats st;

        tap_begin(name);
        uint64_t t0 = now_usec();
        check(run_for(playback, capture, 1000000, &r, &st) == 0);
        double seconds = (double) (now_usec() - t0) / 1e6;
        printf("# %s: %u frames in %.3f s, %llu late to play, %s\n", name, r.frames, seconds,
               (unsigned long long) st.playback_underruns, st.paced ? "paced by the thread" : "device clock");
        check(st.paced);
        check(r.frames >= 90 && r.frames <= 102 + burst, "%u frames", r.frames);
        check(st.capture_overruns == 0);
        /* after the prefill (and a burst) every frame came from the loop in time */
        check(st.playback_underruns <= 2 + burst, "%llu underruns", (unsigned long long) st.playback_underruns);
        tap_end();
}

static void test_file_order(void) {
        char dir[] = "/tmp/deskphone-audio-thread-XXXXXX";
        Run r;
        AudioStats st;

        tap_begin("/audio-thread/file-playback-in-order");
        check(mkdtemp(dir) != NULL);
        _cleanup_(freep) char *out = strjoin("file:", dir, "/out.raw", NULL), *path = strjoin(dir, "/out.raw", NULL);
        check(run_for(out, "null", 300000, &r, &st) == 0);
        _cleanup_(freep) char *data = NULL;
        size_t size;
        check(read_full_file(path, &data, &size, 1 << 20) == 0);
        const int16_t *x = (const int16_t *) data;
        size_t n = size / 2, skip = AUDIO_PLAYBACK_PREFILL * AUDIO_FRAME;
        check(n > skip + 10 * AUDIO_FRAME, "%zu samples", n);
        for (size_t i = skip; i < n; i++)
                if (x[i] != (int16_t) (i - skip)) {
                        check(false, "sample %zu is %d", i, x[i]);
                        break;
                }
        (void) rm_rf(dir);
        tap_end();
}

int main(void) {
        check_rate("/audio-thread/null-paced", "null", "null", 0);
        test_file_order();
        /* ALSA's null plugin (under plug, so alsa-lib converts): returns at once, the
         * thread must notice and keep time itself. Skipped where ALSA cannot open it. */
        if (access("/usr/share/alsa/alsa.conf", R_OK) == 0)
                check_rate("/audio-thread/alsa-plug-null-paced", "plug:null", "plug:null", 8);
        else
                tap_skip("/audio-thread/alsa-plug-null-paced", "no ALSA configuration");
        return tap_finish();
}
