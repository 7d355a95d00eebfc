/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

/*
 * The real-time audio thread, mediad's only extra thread. It moves 16 kHz
 * mono between the audio backends (hw/audio.h) and two lock-free rings
 * (ring.h) of 10 ms frames: captured frames to the loop, frames to play from
 * the loop. It runs one period of AUDIO_PERIOD_FRAMES frames (20 ms: the
 * packet time of nearly every call) per wake-up: one device read, one device
 * write, and one poke of an eventfd that wakes the loop, whose handler
 * (on_frames) drains the capture ring, encodes and sends, and pushes one frame
 * to play per frame captured, so both directions run on the device's clock.
 * Wake-ups are most of the CPU a call costs, so there is one per period, not
 * one per frame. ALSA is asked for periods of that size. When neither device
 * gives a clock (files, null), the thread keeps real time itself with
 * clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME); an ALSA device that turns
 * out to return much faster than real time is treated the same.
 *
 * Opening a device that fails falls back to the null backend for that
 * direction (logged), so calls still send and receive at the right rate.
 *
 * Switching devices (a route change in a call) leaves no gap and no click:
 * the loop opens the new devices (audio_thread_switch), the thread takes them
 * over at the start of a period through a one-slot ring, and in that period
 * crossfades over its second 10 ms frame, on both sides. Capture: the new
 * device keeps only its last period, the same moment as the old one's, and
 * goes on from there, so the loop gets every period once and RTP timestamps
 * run on. Playback: the old device plays the frame fading out, the new one
 * starts with as much silence as the old one has queued and plays the frame
 * fading in at the same moment. The thread hands the old devices back through
 * a second ring; the loop closes them once the old playback device has played
 * what it had queued. Files show it exactly: the old and the new playback file
 * overlap by one frame whose two halves add up to what was played.
 */

#define AUDIO_RATE 16000
#define AUDIO_FRAME_MS 10
#define AUDIO_FRAME (AUDIO_RATE * AUDIO_FRAME_MS / 1000)        /* 160 samples */
#define AUDIO_PERIOD_FRAMES 2           /* frames per wake-up of the thread and of the loop: 20 ms */
#define AUDIO_PERIOD_MS (AUDIO_FRAME_MS * AUDIO_PERIOD_FRAMES)
#define AUDIO_PERIOD (AUDIO_FRAME * AUDIO_PERIOD_FRAMES)        /* 320 samples */
#define AUDIO_WAKE_FRAMES AUDIO_PERIOD_FRAMES /* the older name */
#define AUDIO_RING_FRAMES 16
#define AUDIO_PLAYBACK_PREFILL 3        /* frames queued to play: the loop has a period to refill them */

typedef struct AudioThread AudioThread;
typedef void (*AudioFramesHandler)(AudioThread *a, void *userdata);

typedef struct AudioStats {
        uint64_t frames;                /* cycles of the thread */
        uint64_t capture_overruns;      /* captured frames dropped: the loop was late */
        uint64_t playback_underruns;    /* silence played: the loop was late */
        uint64_t device_errors;
        uint64_t switches;              /* device switches the thread made */
        bool paced;                     /* the thread keeps time itself */
        uint64_t late_max_usec;         /* paced: the latest it started a period (not scheduled in
                                         * time; it catches up at once) */
} AudioStats;

int audio_thread_start(sd_event *event, const char *playback, const char *capture, AudioFramesHandler on_frames,
                       void *userdata, AudioThread **ret);
/* Stop the thread (waits up to a period for it), close the devices, old ones of a switch too. */
AudioThread *audio_thread_stop(AudioThread *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(AudioThread *, audio_thread_stop);

/* Loop side. */
bool audio_thread_pop_capture(AudioThread *a, int16_t frame[AUDIO_FRAME]);
bool audio_thread_push_playback(AudioThread *a, const int16_t frame[AUDIO_FRAME]);
unsigned audio_thread_playback_queued(AudioThread *a);
void audio_thread_get_stats(AudioThread *a, AudioStats *ret);
/* The devices in use or being switched to ("null" where opening failed). */
const char *audio_thread_playback_name(AudioThread *a);
const char *audio_thread_capture_name(AudioThread *a);
/* Open the devices named (NULL: that direction stays) and have the thread switch to them
 * without a gap (above). -EBUSY while the last switch is not over. */
int audio_thread_switch(AudioThread *a, const char *playback, const char *capture);
/* A switch is in flight: until the thread took it and its old devices are closed. */
bool audio_thread_switching(AudioThread *a);
