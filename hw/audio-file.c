/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The file backend: what tests and demos use instead of a sound card.
 * Capture reads a whole WAV (16-bit PCM, mono or stereo mixed down, at the
 * path's rate) or raw file (s16le mono at the path's rate) into memory and
 * plays it in a loop; playback writes a WAV (path ends in ".wav") or raw
 * file, truncated at open, with the WAV sizes brought up to date every second
 * and at close, so a reader sees a valid file while the call goes on.
 * No clock: the caller paces (audio.h).
 */
#include <endian.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "audio.h"
#include "log.h"
#include "macro.h"
#include "util.h"

#define FILE_CAPTURE_MAX (64U * 1024 * 1024)
#define WAV_HEADER_SIZE 44

struct AudioPcm {
        AudioDirection direction;
        char *path;
        unsigned rate;
        /* capture */
        int16_t *samples;
        size_t n_samples, pos;
        /* playback */
        int fd;
        bool wav;
        uint64_t written;               /* frames */
        uint64_t header_at;             /* frames when the header was last updated */
};

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void put_le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v) {
        put_le16(p, (uint16_t) v);
        put_le16(p + 2, (uint16_t) (v >> 16));
}

/* ---- capture: WAV parsing ---- */

typedef struct WavFormat {
        unsigned channels, rate, bits, tag;
        const uint8_t *data;
        size_t size;
} WavFormat;

static int wav_parse(const uint8_t *d, size_t size, WavFormat *ret) {
        WavFormat f = {};
        size_t off = 12;

        while (off <= size && size - off >= 8) {
                const uint8_t *c = d + off;
                size_t len = le32(c + 4);
                off += 8;
                if (memcmp(c, "fmt ", 4) == 0) {
                        if (len < 16 || len > size - off)
                                return -EBADMSG;
                        f.tag = le16(c + 8);
                        f.channels = le16(c + 10);
                        f.rate = le32(c + 12);
                        f.bits = le16(c + 22);
                        if (f.tag == 0xFFFE && len >= 26)
                                f.tag = le16(c + 32); /* WAVE_FORMAT_EXTENSIBLE: the sub-format */
                } else if (memcmp(c, "data", 4) == 0) {
                        f.data = d + off;
                        f.size = MIN(len, size - off); /* streamed WAVs leave the size unset */
                        break;
                }
                if (len > size - off)
                        return -EBADMSG;
                off += len + (len & 1);
        }
        if (!f.data || f.channels == 0)
                return -EBADMSG;
        *ret = f;
        return 0;
}

static int capture_from_wav(AudioPcm *p, const uint8_t *d, size_t size) {
        WavFormat f;

        if (wav_parse(d, size, &f) < 0)
                return log_error_errno(EBADMSG, "%s: not a WAV file we can read", p->path);
        if (f.tag != 1 || f.bits != 16 || f.channels > 2)
                return log_error_errno(EINVAL, "%s: %u-bit, %u channel(s), format %u: need 16-bit PCM, mono or "
                                       "stereo", p->path, f.bits, f.channels, f.tag);
        if (f.rate != p->rate)
                return log_error_errno(EINVAL, "%s: %u Hz, but the audio path runs at %u Hz", p->path, f.rate,
                                       p->rate);
        size_t n = f.size / (2 * f.channels);
        p->samples = calloc(MAX(n, 1U), sizeof(int16_t));
        if (!p->samples)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                const uint8_t *s = f.data + i * 2 * f.channels;
                int v = (int16_t) le16(s);
                if (f.channels == 2)
                        v = (v + (int16_t) le16(s + 2)) / 2;
                p->samples[i] = (int16_t) v;
        }
        p->n_samples = n;
        return 0;
}

static int capture_open(AudioPcm *p) {
        _cleanup_(freep) char *data = NULL;
        size_t size;

        int r = read_full_file(p->path, &data, &size, FILE_CAPTURE_MAX);
        if (r < 0)
                return log_error_errno(r, "Failed to read capture file %s: %m", p->path);
        const uint8_t *d = (const uint8_t *) data;
        if (size >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WAVE", 4) == 0)
                return capture_from_wav(p, d, size);

        p->n_samples = size / 2;
        p->samples = calloc(MAX(p->n_samples, 1U), sizeof(int16_t));
        if (!p->samples)
                return log_oom();
        for (size_t i = 0; i < p->n_samples; i++)
                p->samples[i] = (int16_t) le16(d + 2 * i);
        return 0;
}

static int file_read(AudioPcm *p, int16_t *buf, size_t n) {
        if (p->n_samples == 0) {
                memset(buf, 0, n * sizeof(int16_t));
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                buf[i] = p->samples[p->pos++];
                if (p->pos == p->n_samples)
                        p->pos = 0;
        }
        return 0;
}

/* ---- playback ---- */

static void wav_header(uint8_t h[WAV_HEADER_SIZE], unsigned rate, uint64_t frames) {
        uint64_t bytes = frames * 2;
        uint32_t data = bytes > UINT32_MAX - WAV_HEADER_SIZE ? UINT32_MAX - WAV_HEADER_SIZE : (uint32_t) bytes;

        memcpy(h, "RIFF", 4);
        put_le32(h + 4, data + WAV_HEADER_SIZE - 8);
        memcpy(h + 8, "WAVEfmt ", 8);
        put_le32(h + 16, 16);
        put_le16(h + 20, 1);            /* PCM */
        put_le16(h + 22, 1);            /* mono */
        put_le32(h + 24, rate);
        put_le32(h + 28, rate * 2);
        put_le16(h + 32, 2);
        put_le16(h + 34, 16);
        memcpy(h + 36, "data", 4);
        put_le32(h + 40, data);
}

static int header_update(AudioPcm *p) {
        uint8_t h[WAV_HEADER_SIZE];

        if (!p->wav)
                return 0;
        wav_header(h, p->rate, p->written);
        p->header_at = p->written;
        if (pwrite(p->fd, h, sizeof(h), 0) != (ssize_t) sizeof(h))
                return negative_errno();
        return 0;
}

static int playback_open(AudioPcm *p) {
        size_t l = strlen(p->path);

        p->wav = l > 4 && strcasecmp(p->path + l - 4, ".wav") == 0;
        p->fd = open(p->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (p->fd < 0)
                return log_error_errno(errno, "Failed to open playback file %s: %m", p->path);
        int r = header_update(p);
        if (r >= 0 && p->wav && lseek(p->fd, WAV_HEADER_SIZE, SEEK_SET) < 0)
                r = negative_errno();
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", p->path);
        return 0;
}

static int file_write(AudioPcm *p, const int16_t *buf, size_t n) {
        uint8_t out[2 * 1024];

        for (size_t done = 0; done < n;) {
                size_t k = MIN(n - done, sizeof(out) / 2);
                for (size_t i = 0; i < k; i++)
                        put_le16(out + 2 * i, (uint16_t) buf[done + i]);
                ssize_t w = write(p->fd, out, 2 * k);
                if (w != (ssize_t) (2 * k))
                        return w < 0 ? negative_errno() : -EIO;
                done += k;
        }
        p->written += n;
        if (p->written - p->header_at >= p->rate)
                return header_update(p);
        return 0;
}

/* ---- ops ---- */

static void file_close(AudioPcm *p) {
        if (!p)
                return;
        if (p->direction == AUDIO_PLAYBACK && p->fd >= 0) {
                int r = header_update(p);
                if (r < 0)
                        log_warning_errno(r, "Failed to finish %s, ignoring: %m", p->path);
                close(p->fd);
        }
        free(p->samples);
        free(p->path);
        free(p);
}

static int file_open(const char *device, AudioDirection direction, unsigned rate, unsigned period,
                     AudioPcm **ret) {
        if (!device || device[0] != '/')
                return log_error_errno(EINVAL, "Audio file '%s' must be an absolute path", strempty(device));
        AudioPcm *p = calloc(1, sizeof(AudioPcm));
        if (!p)
                return log_oom();
        *p = (AudioPcm) { .direction = direction, .rate = rate, .fd = -1, .path = strdup(device) };
        if (!p->path) {
                free(p);
                return log_oom();
        }
        int r = direction == AUDIO_CAPTURE ? capture_open(p) : playback_open(p);
        if (r < 0) {
                file_close(p);
                return r;
        }
        *ret = p;
        return 0;
}

static bool file_clocked(AudioPcm *p) {
        return false;
}

const struct audio_ops audio_file_ops = {
        .name = "file",
        .open = file_open,
        .close = file_close,
        .read = file_read,
        .write = file_write,
        .clocked = file_clocked,
};
