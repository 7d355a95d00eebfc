/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Board descriptions (board.h). */
#include <stdio.h>

#include "board.h"
#include "cfg-parse.h"
#include "config.h"
#include "log.h"
#include "util.h"

static const char * const route_table[_AUDIO_ROUTE_MAX] = {
        [AUDIO_ROUTE_HANDSET] = "handset",
        [AUDIO_ROUTE_HEADSET] = "headset",
        [AUDIO_ROUTE_SPEAKER] = "speaker",
};

const char *audio_route_to_string(AudioRoute r) {
        return r >= 0 && r < _AUDIO_ROUTE_MAX ? route_table[r] : NULL;
}

AudioRoute audio_route_from_string(const char *s) {
        for (int i = 0; s && i < _AUDIO_ROUTE_MAX; i++)
                if (streq(route_table[i], s))
                        return (AudioRoute) i;
        return _AUDIO_ROUTE_INVALID;
}

Board *board_free(Board *b) {
        if (!b)
                return NULL;
        for (int i = 0; i < _AUDIO_ROUTE_MAX; i++) {
                free(b->routes[i].playback);
                free(b->routes[i].capture);
        }
        free(b->name);
        free(b->path);
        free(b);
        return NULL;
}

static bool name_valid(const char *name) {
        size_t n = strlen(name);
        return n > 0 && n <= 64 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

static int board_new(const char *name, Board **ret) {
        Board *b = calloc(1, sizeof(Board));
        if (!b)
                return -ENOMEM;
        b->name = strdup(name);
        if (!b->name) {
                free(b);
                return -ENOMEM;
        }
        *ret = b;
        return 0;
}

/* The desktop without a file: ALSA's default for everything. */
static int board_builtin_desktop(Board **ret) {
        _cleanup_(board_freep) Board *b = NULL;

        int r = board_new("desktop", &b);
        if (r < 0)
                return r;
        for (int i = 0; i < _AUDIO_ROUTE_MAX; i++) {
                b->routes[i] = (BoardRoute) { .present = true, .playback = strdup("default"),
                                              .capture = strdup("default") };
                if (!b->routes[i].playback || !b->routes[i].capture)
                        return -ENOMEM;
        }
        b->default_route = AUDIO_ROUTE_HANDSET;
        *ret = TAKE_PTR(b);
        return 0;
}

static int board_fill(Board *b, const CfgFile *f) {
        const char *def = cfg_file_get(f, "audio.route");
        bool any = false;

        for (int i = 0; i < _AUDIO_ROUTE_MAX; i++) {
                char k1[64], k2[64];
                snprintf(k1, sizeof(k1), "audio.%s.playback", route_table[i]);
                snprintf(k2, sizeof(k2), "audio.%s.capture", route_table[i]);
                const char *play = cfg_file_get(f, k1), *cap = cfg_file_get(f, k2);
                if (!play || !cap || !*play || !*cap)
                        continue;
                b->routes[i] = (BoardRoute) { .present = true, .playback = strdup(play), .capture = strdup(cap) };
                if (!b->routes[i].playback || !b->routes[i].capture)
                        return log_oom();
                any = true;
        }
        if (!any)
                return log_error_errno(EINVAL, "%s: no audio route (audio.handset.playback and .capture...)",
                                       b->path);
        AudioRoute r = def ? audio_route_from_string(def) : AUDIO_ROUTE_HANDSET;
        if (r < 0 || !b->routes[r].present) {
                if (def)
                        log_warning("%s: audio.route = %s is not a route of this board, ignoring", b->path, def);
                for (r = 0; !b->routes[r].present; r++)
                        ;
        }
        b->default_route = r;
        return 0;
}

static char *board_find(const char *name) {
        const char *dirs[] = { getenv("DESKPHONE_HW_DIR"), DATADIR "/hw", SOURCE_ROOT "/hw" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                if (!dirs[i] || !*dirs[i])
                        continue;
                char *path = strjoin(dirs[i], "/", name, "/board.cfg", NULL);
                if (!path || access(path, R_OK) == 0)
                        return path;
                free(path);
        }
        return NULL;
}

int board_load(const char *name, Board **ret) {
        _cleanup_(board_freep) Board *b = NULL;
        _cleanup_(cfg_file_freep) CfgFile *f = NULL;
        CfgError e = {};
        char text[600];

        if (!name_valid(name))
                return log_error_errno(EINVAL, "Invalid board name '%s'", name);
        _cleanup_(freep) char *path = board_find(name);
        if (!path)
                return streq(name, "desktop") ? board_builtin_desktop(ret)
                                              : log_error_errno(ENOENT, "No description of board '%s' in hw/", name);
        int r = cfg_parse_file(path, &f, &e);
        if (r < 0) {
                cfg_error_format(&e, text, sizeof(text));
                return log_error_errno(r, "Failed to read board %s: %s", name, e.reason[0] ? text : strerror(-r));
        }
        r = board_new(name, &b);
        if (r < 0)
                return log_oom();
        b->path = TAKE_PTR(path);
        r = board_fill(b, f);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}
