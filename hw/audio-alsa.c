/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ALSA backend: the only file that sees alsa-lib. Opens the PCM
 * non-blocking (so a busy device fails instead of hanging the caller), then
 * switches to blocking I/O: reads and writes wait for the device, which is the
 * clock of the audio thread. S16 mono at the requested rate, period as asked,
 * four periods of buffer, both read back as granted; "plughw:" or "default"
 * convert for hardware that cannot do that itself. Playback starts when align() queues silence (the
 * caller says how much: two periods for a new stream, the old device's queue
 * when it joins a running one), or on the first write; capture starts at open,
 * and align() drops what came before the caller wanted it. Xruns are recovered
 * (playback with two periods of silence) and counted, never fatal. ALSA's null
 * PCM has no clock and says so. Through ALSA's pulse plugin see doc/audio.md.
 */
#include "audio.h"
#include "log.h"
#include "macro.h"

#if HAVE_ALSA
#include <alsa/asoundlib.h>
#include <limits.h>

#define ALSA_PERIODS 4
#define ALSA_PREFILL 2

struct AudioPcm {
        snd_pcm_t *pcm;
        char *device;
        AudioDirection direction;
        unsigned period;        /* frames, as granted */
        size_t buffer;          /* frames, as granted */
        unsigned xruns;
        bool clocked;
};

static int set_hw_params(AudioPcm *p, unsigned rate, unsigned period) {
        snd_pcm_hw_params_t *hw;
        snd_pcm_uframes_t period_size = period, buffer_size = (snd_pcm_uframes_t) period * ALSA_PERIODS;
        unsigned got_rate = rate;
        int r;

        snd_pcm_hw_params_alloca(&hw);
        if ((r = snd_pcm_hw_params_any(p->pcm, hw)) < 0 ||
            (r = snd_pcm_hw_params_set_access(p->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
            (r = snd_pcm_hw_params_set_format(p->pcm, hw, SND_PCM_FORMAT_S16)) < 0 ||
            (r = snd_pcm_hw_params_set_channels(p->pcm, hw, 1)) < 0 ||
            (r = snd_pcm_hw_params_set_rate_near(p->pcm, hw, &got_rate, NULL)) < 0)
                return log_error_errno(r, "%s does not do 16-bit mono (try plughw: or default): %s", p->device,
                                       snd_strerror(r));
        if (got_rate != rate)
                return log_error_errno(EINVAL, "%s runs at %u Hz, not %u (try plughw: or default)", p->device,
                                       got_rate, rate);
        if ((r = snd_pcm_hw_params_set_period_size_near(p->pcm, hw, &period_size, NULL)) < 0 ||
            (r = snd_pcm_hw_params_set_buffer_size_near(p->pcm, hw, &buffer_size)) < 0 ||
            (r = snd_pcm_hw_params(p->pcm, hw)) < 0)
                return log_error_errno(r, "Failed to configure %s: %s", p->device, snd_strerror(r));
        /* what the device granted, not what was asked: avail_min, the prefill and recovery go by it */
        if ((r = snd_pcm_hw_params_get_period_size(hw, &period_size, NULL)) < 0 ||
            (r = snd_pcm_hw_params_get_buffer_size(hw, &buffer_size)) < 0)
                return log_error_errno(r, "Cannot read back the parameters of %s: %s", p->device, snd_strerror(r));
        if (period_size == 0 || period_size > UINT_MAX / ALSA_PERIODS)
                return log_error_errno(EINVAL, "%s: unusable period of %lu frames", p->device,
                                       (unsigned long) period_size);
        if (period_size != period || buffer_size != (snd_pcm_uframes_t) period * ALSA_PERIODS)
                log_debug("%s: period of %lu frames, buffer of %lu (asked %u and %u)", p->device,
                          (unsigned long) period_size, (unsigned long) buffer_size, period, period * ALSA_PERIODS);
        p->period = (unsigned) period_size;
        p->buffer = (size_t) buffer_size;
        return 0;
}

static int set_sw_params(AudioPcm *p) {
        snd_pcm_sw_params_t *sw;
        int r;

        snd_pcm_sw_params_alloca(&sw);
        if ((r = snd_pcm_sw_params_current(p->pcm, sw)) < 0 ||
            (r = snd_pcm_sw_params_set_avail_min(p->pcm, sw, p->period)) < 0 ||
            (r = snd_pcm_sw_params_set_start_threshold(p->pcm, sw, 1)) < 0 ||
            (r = snd_pcm_sw_params(p->pcm, sw)) < 0)
                return log_error_errno(r, "Failed to set up %s: %s", p->device, snd_strerror(r));
        return 0;
}

static void alsa_close(AudioPcm *p) {
        if (!p)
                return;
        if (p->pcm) {
                (void) snd_pcm_drop(p->pcm);
                snd_pcm_close(p->pcm);
        }
        free(p->device);
        free(p);
}

/* Queue n frames of silence: the device starts playing (start threshold 1). */
static int prefill(AudioPcm *p, size_t n) {
        int16_t silence[1024] = {};

        n = MIN(n, p->buffer);
        for (size_t done = 0; done < n;) {
                snd_pcm_sframes_t w = snd_pcm_writei(p->pcm, silence, MIN(n - done, ELEMENTSOF(silence)));
                if (w == -EAGAIN || w == -EINTR)
                        continue;
                if (w < 0)
                        return (int) w;
                done += (size_t) w;
        }
        return 0;
}

/* Capture: read and drop all but the last n frames captured. */
static int skip(AudioPcm *p, size_t n) {
        int16_t scratch[1024];
        snd_pcm_sframes_t avail = snd_pcm_avail(p->pcm);

        if (avail < 0)
                return (int) avail;
        for (size_t left = (size_t) avail > n ? (size_t) avail - n : 0; left > 0;) {
                snd_pcm_sframes_t k = snd_pcm_readi(p->pcm, scratch, MIN(left, ELEMENTSOF(scratch)));
                if (k == -EAGAIN || k == -EINTR)
                        continue;
                if (k < 0)
                        return (int) k;
                left -= (size_t) k;
        }
        return 0;
}

static int alsa_open(const char *device, AudioDirection direction, unsigned rate, unsigned period, AudioPcm **ret) {
        AudioPcm *p = calloc(1, sizeof(AudioPcm));
        if (!p)
                return log_oom();
        *p = (AudioPcm) { .direction = direction, .period = period, .device = strdup(device), .clocked = true };
        if (!p->device) {
                free(p);
                return log_oom();
        }
        int r = snd_pcm_open(&p->pcm, device, direction == AUDIO_PLAYBACK ? SND_PCM_STREAM_PLAYBACK
                                                                           : SND_PCM_STREAM_CAPTURE,
                             SND_PCM_NONBLOCK);
        if (r < 0) {
                log_error_errno(r, "Failed to open ALSA PCM %s for %s: %s", device,
                                direction == AUDIO_PLAYBACK ? "playback" : "capture", snd_strerror(r));
                p->pcm = NULL;
                goto fail;
        }
        r = set_hw_params(p, rate, period);
        if (r >= 0)
                r = set_sw_params(p);
        if (r >= 0)
                r = snd_pcm_nonblock(p->pcm, 0);
        if (r >= 0 && direction == AUDIO_CAPTURE)
                r = snd_pcm_start(p->pcm);
        if (r < 0)
                goto fail;
        p->clocked = snd_pcm_type(p->pcm) != SND_PCM_TYPE_NULL;
        *ret = p;
        return 0;
fail:
        alsa_close(p);
        return r;
}

/* An xrun or a suspend: count it, recover, and go on. */
static int recover(AudioPcm *p, int error) {
        p->xruns++;
        if (p->xruns == 1 || p->xruns % 100 == 0)
                log_warning("%s (%s): %s (%u so far), recovering", p->device,
                            p->direction == AUDIO_PLAYBACK ? "playback" : "capture", snd_strerror(error), p->xruns);
        int r = snd_pcm_recover(p->pcm, error, 1);
        if (r >= 0 && p->direction == AUDIO_CAPTURE)
                r = snd_pcm_start(p->pcm);
        if (r >= 0 && p->direction == AUDIO_PLAYBACK)
                r = prefill(p, (size_t) p->period * ALSA_PREFILL);
        return r == -EBADFD ? 0 : r; /* already running */
}

static int alsa_read(AudioPcm *p, int16_t *buf, size_t n) {
        for (size_t done = 0; done < n;) {
                snd_pcm_sframes_t k = snd_pcm_readi(p->pcm, buf + done, n - done);
                if (k == -EAGAIN || k == -EINTR)
                        continue;
                if (k < 0) {
                        int r = recover(p, (int) k);
                        if (r < 0)
                                return r;
                        continue;
                }
                done += (size_t) k;
        }
        return 0;
}

static int alsa_write(AudioPcm *p, const int16_t *buf, size_t n) {
        for (size_t done = 0; done < n;) {
                snd_pcm_sframes_t k = snd_pcm_writei(p->pcm, buf + done, n - done);
                if (k == -EAGAIN || k == -EINTR)
                        continue;
                if (k < 0) {
                        int r = recover(p, (int) k);
                        if (r < 0)
                                return r;
                        continue;
                }
                done += (size_t) k;
        }
        return 0;
}

static bool alsa_clocked(AudioPcm *p) {
        return p->clocked;
}

static size_t alsa_delay(AudioPcm *p) {
        snd_pcm_sframes_t d = 0;

        if (p->direction != AUDIO_PLAYBACK || snd_pcm_delay(p->pcm, &d) < 0 || d < 0)
                return 0;
        return (size_t) d;
}

static int alsa_align(AudioPcm *p, size_t n) {
        int r = p->direction == AUDIO_PLAYBACK ? prefill(p, n) : skip(p, n);
        if (r < 0) {
                r = recover(p, r);
                if (r < 0)
                        log_warning("%s: cannot join the stream (%s), ignoring", p->device, snd_strerror(r));
        }
        return r;
}

#else /* !HAVE_ALSA */

struct AudioPcm {
        int unused;
};

static int alsa_open(const char *device, AudioDirection direction, unsigned rate, unsigned period, AudioPcm **ret) {
        return log_error_errno(EOPNOTSUPP, "Cannot open %s: built without ALSA", device);
}

static void alsa_close(AudioPcm *p) {
}

static int alsa_read(AudioPcm *p, int16_t *buf, size_t n) {
        return -EOPNOTSUPP;
}

static int alsa_write(AudioPcm *p, const int16_t *buf, size_t n) {
        return -EOPNOTSUPP;
}

static bool alsa_clocked(AudioPcm *p) {
        return false;
}

static size_t alsa_delay(AudioPcm *p) {
        return 0;
}

static int alsa_align(AudioPcm *p, size_t n) {
        return -EOPNOTSUPP;
}

#endif

const struct audio_ops audio_alsa_ops = {
        .name = "alsa",
        .open = alsa_open,
        .close = alsa_close,
        .read = alsa_read,
        .write = alsa_write,
        .clocked = alsa_clocked,
        .delay = alsa_delay,
        .align = alsa_align,
};
