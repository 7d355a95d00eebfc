/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mediad's configuration (settings.h). */
#include <stdarg.h>

#include "settings.h"
#include "util.h"

typedef struct Entry {
        const char *key;
        const char *value;
} Entry;

typedef struct Dict {
        Entry *entries;
        size_t n;
} Dict;

static int entry_compare(const void *a, const void *b) {
        return strcmp(((const Entry *) a)->key, ((const Entry *) b)->key);
}

static int dict_init(Dict *d, char * const *keys, char * const *values) {
        size_t n = strv_length(keys);

        d->entries = calloc(MAX(n, 1U), sizeof(Entry));
        if (!d->entries)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                d->entries[i] = (Entry) { keys[i], values[i] };
        d->n = n;
        qsort(d->entries, n, sizeof(Entry), entry_compare);
        return 0;
}

static const char *lookup(const Dict *d, const char *format, ...) _printf_(2, 3);
static const char *lookup(const Dict *d, const char *format, ...) {
        char key[128];
        va_list ap;

        va_start(ap, format);
        vsnprintf(key, sizeof(key), format, ap);
        va_end(ap);
        Entry k = { key, NULL }, *e = bsearch(&k, d->entries, d->n, sizeof(Entry), entry_compare);
        return e ? e->value : NULL;
}

static unsigned number(const char *s, unsigned def, unsigned min, unsigned max) {
        unsigned u;
        if (!s || safe_atou(s, &u) < 0 || u < min || u > max)
                return def;
        return u;
}

static bool boolean(const char *s, bool def) {
        return s && streq(s, "1") ? true : s && streq(s, "0") ? false : def;
}

static int copy(char **dst, const char *s, const char *def) {
        *dst = strdup(s ?: def);
        return *dst ? 0 : -ENOMEM;
}

/* Yealink's codec keys: default enable and priority as in the schema. */
static const struct {
        const char *key;
        const CodecOps *ops;
        bool enable;
        unsigned priority;
} codec_keys[] = {
        { "g722", &codec_g722, true, 1 },
        { "pcmu", &codec_pcmu, true, 2 },
        { "pcma", &codec_pcma, true, 3 },
        { "opus", &codec_opus, false, 0 },
};

/* Enabled codecs, lower priority first, 0 last, ties in table order. */
static void account_codecs(const Dict *d, unsigned n, AccountMedia *a) {
        unsigned prio[ELEMENTSOF(codec_keys)];
        bool on[ELEMENTSOF(codec_keys)];

        for (size_t i = 0; i < ELEMENTSOF(codec_keys); i++) {
                on[i] = boolean(lookup(d, "account.%u.codec.%s.enable", n, codec_keys[i].key), codec_keys[i].enable);
                prio[i] = number(lookup(d, "account.%u.codec.%s.priority", n, codec_keys[i].key),
                                 codec_keys[i].priority, 0, 13);
                if (prio[i] == 0)
                        prio[i] = 100;
        }
        a->n_codecs = 0;
        for (;;) {
                size_t best = SIZE_MAX;
                for (size_t i = 0; i < ELEMENTSOF(codec_keys); i++)
                        if (on[i] && (best == SIZE_MAX || prio[i] < prio[best]))
                                best = i;
                if (best == SIZE_MAX)
                        break;
                a->codecs[a->n_codecs++] = codec_keys[best].ops;
                on[best] = false;
        }
}

static void account_from_dict(const Dict *d, unsigned n, AccountMedia *a) {
        account_codecs(d, n, a);
        a->opus_payload_type = (uint8_t) number(lookup(d, "account.%u.codec.opus.rtpmap", n), 106, 96, 127);
        a->dtmf_payload_type = (uint8_t) number(lookup(d, "account.%u.dtmf.dtmf_payload", n), 101, 96, 127);
        a->dtmf_type = number(lookup(d, "account.%u.dtmf.type", n), 1, 0, 3);
        a->ptime = number(lookup(d, "account.%u.ptime", n), 20, 0, 60);
}

static void jitter_from_dict(const Dict *d, JitterSettings *j) {
        j->adaptive = boolean(lookup(d, "voice.jib.adaptive"), true);
        j->min_ms = number(lookup(d, "voice.jib.min"), 0, 0, 400);
        j->max_ms = number(lookup(d, "voice.jib.max"), 300, 0, 400);
        j->normal_ms = number(lookup(d, "voice.jib.normal"), 120, 0, 400);
        if (j->max_ms < j->min_ms)
                j->max_ms = j->min_ms;
        j->normal_ms = MIN(MAX(j->normal_ms, j->min_ms), j->max_ms);
}

int media_settings_from_dict(char * const *keys, char * const *values, MediaSettings *ret) {
        MediaSettings s = {};
        Dict d = {};

        int r = dict_init(&d, keys, values);
        if (r < 0)
                return r;
        s.port_min = number(lookup(&d, "static.network.port.min_rtpport"), 11780, 1024, 65535);
        s.port_max = number(lookup(&d, "static.network.port.max_rtpport"), 12780, 1024, 65535);
        if (s.port_max < s.port_min + 1) {
                s.port_min = 11780;
                s.port_max = 12780;
        }
        jitter_from_dict(&d, &s.jitter);
        for (unsigned i = 0; i < MEDIAD_N_ACCOUNTS; i++)
                account_from_dict(&d, i + 1, &s.account[i]);

        const char *level = lookup(&d, "deskphone.log_level.mediad");
        if (!level || !*level)
                level = lookup(&d, "deskphone.log_level");
        r = copy(&s.playback_device, lookup(&d, "deskphone.audio.playback_device"), "");
        if (r >= 0)
                r = copy(&s.capture_device, lookup(&d, "deskphone.audio.capture_device"), "");
        if (r >= 0)
                r = copy(&s.board, lookup(&d, "deskphone.board"), "desktop");
        if (r >= 0)
                r = copy(&s.tone_country, lookup(&d, "voice.tone.country"), "Custom");
        if (r >= 0)
                r = copy(&s.log_level, level, "");
        free(d.entries);
        if (r < 0) {
                media_settings_done(&s);
                return r;
        }
        if (!*s.board) {
                free(s.board);
                s.board = strdup("desktop");
                if (!s.board) {
                        media_settings_done(&s);
                        return -ENOMEM;
                }
        }
        *ret = s;
        return 0;
}

void media_settings_done(MediaSettings *s) {
        free(s->playback_device);
        free(s->capture_device);
        free(s->board);
        free(s->tone_country);
        free(s->log_level);
        *s = (MediaSettings) {};
}

const AccountMedia *media_settings_account(const MediaSettings *s, unsigned n) {
        if (n == 0)
                n = 1;
        return n <= MEDIAD_N_ACCOUNTS ? &s->account[n - 1] : NULL;
}
