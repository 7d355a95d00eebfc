/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The null backend: silence in, nothing out, no clock. */
#include <stdlib.h>
#include <string.h>

#include "audio.h"
#include "macro.h"

struct AudioPcm {
        AudioDirection direction;
};

static int null_open(const char *device, AudioDirection direction, unsigned rate, unsigned period,
                     AudioPcm **ret) {
        AudioPcm *p = calloc(1, sizeof(AudioPcm));
        if (!p)
                return -ENOMEM;
        p->direction = direction;
        *ret = p;
        return 0;
}

static void null_close(AudioPcm *pcm) {
        free(pcm);
}

static int null_read(AudioPcm *pcm, int16_t *buf, size_t n) {
        memset(buf, 0, n * sizeof(int16_t));
        return 0;
}

static int null_write(AudioPcm *pcm, const int16_t *buf, size_t n) {
        return 0;
}

static bool null_clocked(AudioPcm *pcm) {
        return false;
}

const struct audio_ops audio_null_ops = {
        .name = "null",
        .open = null_open,
        .close = null_close,
        .read = null_read,
        .write = null_write,
        .clocked = null_clocked,
};
