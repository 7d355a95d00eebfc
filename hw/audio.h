/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Audio backends behind one ops table: mono signed 16-bit native-endian PCM,
 * one period at a time. Which backend a device name selects:
 *
 *   "file:PATH"   audio-file.c: capture reads PATH (WAV or raw, looped),
 *                 playback writes PATH (WAV if it ends in .wav, else raw)
 *   "null"        audio-null.c: capture gives silence, playback discards
 *   anything else an ALSA PCM name (audio-alsa.c): "default", "plughw:1,0"...
 *
 * read()/write() move exactly n frames. A clocked backend blocks until the
 * device has consumed or produced them, and so paces its caller; an unclocked
 * one (file, null, ALSA's null plugin) returns at once, and the caller must
 * pace itself (mediad's audio thread does, on CLOCK_MONOTONIC).
 * Backends log their own errors with the device name (log.h).
 *
 * Joining a running stream (mediad switches routes without a gap): delay()
 * says how much a playback device has queued (what is written now plays after
 * it), and align() brings a newly opened device in step: playback queues that
 * much silence and starts, capture drops what it captured since open except
 * the last n frames. Both are optional (NULL for file and null, which have no
 * queue); a backend without align() starts on its first write or read.
 */

typedef enum AudioDirection {
        AUDIO_PLAYBACK,
        AUDIO_CAPTURE,
} AudioDirection;

typedef struct AudioPcm AudioPcm;

struct audio_ops {
        const char *name;
        /* rate in Hz, period in frames. -ENOENT no such device, -EINVAL unusable format... */
        int (*open)(const char *device, AudioDirection direction, unsigned rate, unsigned period,
                    AudioPcm **ret);
        void (*close)(AudioPcm *pcm);
        int (*read)(AudioPcm *pcm, int16_t *buf, size_t n);
        int (*write)(AudioPcm *pcm, const int16_t *buf, size_t n);
        bool (*clocked)(AudioPcm *pcm);
        /* frames queued in a playback device, not played yet; 0 when unknown */
        size_t (*delay)(AudioPcm *pcm);
        int (*align)(AudioPcm *pcm, size_t n);
};

static inline size_t audio_delay(const struct audio_ops *ops, AudioPcm *pcm) {
        return ops->delay ? ops->delay(pcm) : 0;
}

static inline int audio_align(const struct audio_ops *ops, AudioPcm *pcm, size_t n) {
        return ops->align ? ops->align(pcm, n) : 0;
}

extern const struct audio_ops audio_null_ops;
extern const struct audio_ops audio_file_ops;
extern const struct audio_ops audio_alsa_ops;  /* without ALSA: opening fails with -EOPNOTSUPP */

/* The backend a device name selects, and the name to give its open() (without "file:"). */
const struct audio_ops *audio_ops_for(const char *name, const char **ret_device);
