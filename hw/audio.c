/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device name -> backend (audio.h). */
#include "audio.h"
#include "macro.h"

const struct audio_ops *audio_ops_for(const char *name, const char **ret_device) {
        const char *path = startswith(name, "file:");

        if (path) {
                *ret_device = path;
                return &audio_file_ops;
        }
        *ret_device = name;
        if (streq(name, "null"))
                return &audio_null_ops;
        return &audio_alsa_ops;
}
