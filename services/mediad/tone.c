/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>
#include <strings.h>

#include "macro.h"
#include "tone.h"

/* --- names --- */

static const char *const tone_id_names[_TONE_ID_MAX] = {
        [TONE_DIAL] = "dial",
        [TONE_RINGBACK] = "ringback",
        [TONE_BUSY] = "busy",
        [TONE_CONGESTION] = "congestion",
        [TONE_CALL_WAITING] = "call-waiting",
        [TONE_DIAL_RECALL] = "dial-recall",
        [TONE_INFO] = "info",
        [TONE_STUTTER] = "stutter",
        [TONE_MESSAGE] = "message",
        [TONE_AUTOANSWER] = "autoanswer",
        [TONE_RING] = "ring",
};

static const char *const tone_id_yealink_keys[_TONE_ID_MAX] = {
        [TONE_DIAL] = "dial",
        [TONE_RINGBACK] = "ring",
        [TONE_BUSY] = "busy",
        [TONE_CONGESTION] = "congestion",
        [TONE_CALL_WAITING] = "callwaiting",
        [TONE_DIAL_RECALL] = "dialrecall",
        [TONE_INFO] = "info",
        [TONE_STUTTER] = "stutter",
        [TONE_MESSAGE] = "message",
        [TONE_AUTOANSWER] = "autoanswer",
        [TONE_RING] = NULL,
};

const char *tone_id_to_string(ToneId id) {
        return id >= 0 && id < _TONE_ID_MAX ? tone_id_names[id] : NULL;
}

ToneId tone_id_from_string(const char *s) {
        for (ToneId id = 0; id < _TONE_ID_MAX; id++)
                if (streq(s, tone_id_names[id]))
                        return id;
        return _TONE_ID_INVALID;
}

const char *tone_id_yealink_key(ToneId id) {
        return id >= 0 && id < _TONE_ID_MAX ? tone_id_yealink_keys[id] : NULL;
}

/* --- tone sets ---
 *
 * Frequencies and cadences: ITU-T E.180 Supplement 2 (the national entries), which
 * is also where Asterisk's indications.conf and the phones' country tables come
 * from. Levels where the national plan fixes them (North American precise tone
 * plan: dial -13, ringback -19, busy/reorder -24 dBm0 per frequency); elsewhere the
 * default (-10 dBm0 in total). The local ringer (TONE_RING) has no standard: a
 * 1 kHz tone warbled at 20 Hz, in the country's ringing cadence. */

#define SIT "950/330,1400/330,1800/330,0/1000" /* E.180 special information tone */
#define STUTTER(f, then) "!" f "/100,!0/100,!" f "/100,!0/100,!" f "/100,!0/100,!" f "/100,!0/100,!" \
        f "/100,!0/100,!" f "/100,!0/100,!" f "/100,!0/100,!" f "/100,!0/100,!" f "/100,!0/100,!" f      \
        "/100,!0/100," then
#define RECALL(f) "!" f "/100,!0/100,!" f "/100,!0/100,!" f "/100,!0/100," f
#define RINGER "1000@-6*20"

static const ToneCountry country_custom = {
        .code = "Custom",
        .yealink_name = "Custom",
        .tones = {
                [TONE_DIAL] = "425",
                [TONE_RINGBACK] = "425/1000,0/4000",
                [TONE_BUSY] = "425/500,0/500",
                [TONE_CONGESTION] = "425/250,0/250",
                [TONE_CALL_WAITING] = "425/200,0/200,425/200,0/4400",
                [TONE_DIAL_RECALL] = RECALL("425"),
                [TONE_INFO] = SIT,
                [TONE_STUTTER] = STUTTER("425", "425"),
                [TONE_MESSAGE] = "!425/200,!0/200,!425/200",
                [TONE_AUTOANSWER] = "!425/200",
                [TONE_RING] = RINGER "/1000,0/4000",
        },
};

static const ToneCountry country_us = {
        .code = "US",
        .yealink_name = "United States",
        .tones = {
                [TONE_DIAL] = "350@-13+440@-13",
                [TONE_RINGBACK] = "440@-19+480@-19/2000,0/4000",
                [TONE_BUSY] = "480@-24+620@-24/500,0/500",
                [TONE_CONGESTION] = "480@-24+620@-24/250,0/250",
                [TONE_CALL_WAITING] = "440@-13/300,0/9700",
                [TONE_DIAL_RECALL] = RECALL("350@-13+440@-13"),
                [TONE_INFO] = "913.8@-24/274,1370.6@-24/274,1776.7@-24/380,0/4000",
                [TONE_STUTTER] = STUTTER("350@-13+440@-13", "350@-13+440@-13"),
                [TONE_MESSAGE] = "!440@-13/300",
                [TONE_AUTOANSWER] = "!440@-13/200",
                [TONE_RING] = RINGER "/2000,0/4000",
        },
};

static const ToneCountry country_gb = {
        .code = "GB",
        .yealink_name = "Great Britain",
        .tones = {
                [TONE_DIAL] = "350+440",
                [TONE_RINGBACK] = "400+450/400,0/200,400+450/400,0/2000",
                [TONE_BUSY] = "400/375,0/375",
                [TONE_CONGESTION] = "400/400,0/350,400/225,0/525",
                [TONE_CALL_WAITING] = "400/100,0/4000",
                [TONE_DIAL_RECALL] = RECALL("350+440"),
                [TONE_STUTTER] = STUTTER("350+440", "350+440"),
                [TONE_RING] = RINGER "/400,0/200," RINGER "/400,0/2000",
        },
};

static const ToneCountry country_de = {
        .code = "DE",
        .yealink_name = "Germany",
        .tones = {
                [TONE_DIAL] = "425",
                [TONE_RINGBACK] = "425/1000,0/4000",
                [TONE_BUSY] = "425/480,0/480",
                [TONE_CONGESTION] = "425/240,0/240",
                [TONE_CALL_WAITING] = "425/200,0/200,425/200,0/5000",
                [TONE_RING] = RINGER "/1000,0/4000",
        },
};

static const ToneCountry country_fr = {
        .code = "FR",
        .yealink_name = "France",
        .tones = {
                [TONE_DIAL] = "440",
                [TONE_RINGBACK] = "440/1500,0/3500",
                [TONE_BUSY] = "440/500,0/500",
                [TONE_CONGESTION] = "440/250,0/250",
                [TONE_CALL_WAITING] = "440/300,0/10000",
                [TONE_DIAL_RECALL] = RECALL("440"),
                [TONE_STUTTER] = STUTTER("440", "440"),
                [TONE_RING] = RINGER "/1500,0/3500",
        },
};

static const ToneCountry country_it = {
        .code = "IT",
        .yealink_name = "Italy",
        .tones = {
                [TONE_DIAL] = "425/200,0/200,425/600,0/1000",
                [TONE_RINGBACK] = "425/1000,0/4000",
                [TONE_BUSY] = "425/500,0/500",
                [TONE_CONGESTION] = "425/200,0/200",
                [TONE_CALL_WAITING] = "425/400,0/100,425/250,0/100,425/150,0/14000",
                [TONE_RING] = RINGER "/1000,0/4000",
        },
};

static const ToneCountry country_nl = {
        .code = "NL",
        .yealink_name = "Netherlands",
        .tones = {
                [TONE_DIAL] = "425",
                [TONE_RINGBACK] = "425/1000,0/4000",
                [TONE_BUSY] = "425/500,0/500",
                [TONE_CONGESTION] = "425/250,0/250",
                [TONE_CALL_WAITING] = "425/500,0/9500",
                [TONE_RING] = RINGER "/1000,0/4000",
        },
};

static const ToneCountry country_au = {
        .code = "AU",
        .yealink_name = "Australia",
        .tones = {
                [TONE_DIAL] = "413+438",
                [TONE_RINGBACK] = "413+438/400,0/200,413+438/400,0/2000",
                [TONE_BUSY] = "425/375,0/375",
                [TONE_CONGESTION] = "425/375,0/375,420/375,0/375",
                [TONE_CALL_WAITING] = "425/200,0/200,425/200,0/4400",
                [TONE_DIAL_RECALL] = RECALL("413+438"),
                [TONE_STUTTER] = STUTTER("413+438", "413+438"),
                [TONE_RING] = RINGER "/400,0/200," RINGER "/400,0/2000",
        },
};

static const ToneCountry country_cn = {
        .code = "CN",
        .yealink_name = "China",
        .tones = {
                [TONE_DIAL] = "450",
                [TONE_RINGBACK] = "450/1000,0/4000",
                [TONE_BUSY] = "450/350,0/350",
                [TONE_CONGESTION] = "450/700,0/700",
                [TONE_CALL_WAITING] = "450/400,0/4000",
                [TONE_DIAL_RECALL] = RECALL("450"),
                [TONE_STUTTER] = STUTTER("450", "450"),
                [TONE_RING] = RINGER "/1000,0/4000",
        },
};

static const ToneCountry country_jp = {
        .code = "JP",
        .yealink_name = "Japan",
        .tones = {
                [TONE_DIAL] = "400",
                [TONE_RINGBACK] = "400*16/1000,0/2000",
                [TONE_BUSY] = "400/500,0/500",
                [TONE_CONGESTION] = "400/500,0/500",
                [TONE_CALL_WAITING] = "400*16/500,0/8000",
                [TONE_DIAL_RECALL] = RECALL("400"),
                [TONE_STUTTER] = STUTTER("400", "400"),
                [TONE_RING] = RINGER "/1000,0/2000",
        },
};

static const ToneCountry *const countries[] = {
        &country_custom, &country_us, &country_gb, &country_de, &country_fr, &country_it,
        &country_nl, &country_au, &country_cn, &country_jp, NULL,
};

const ToneCountry *const *tone_countries(void) {
        return countries;
}

int tone_country_find(const char *name, const ToneCountry **ret) {
        if (!name)
                return -ENOENT;
        if (strcasecmp(name, "UK") == 0 || strcasecmp(name, "United Kingdom") == 0)
                name = "GB";
        else if (strcasecmp(name, "USA") == 0)
                name = "US";
        for (size_t i = 0; countries[i]; i++)
                if (strcasecmp(name, countries[i]->code) == 0 || strcasecmp(name, countries[i]->yealink_name) == 0) {
                        *ret = countries[i];
                        return 0;
                }
        return -ENOENT;
}

const char *tone_lookup(const char *country, const char *const *custom, ToneId id) {
        const ToneCountry *c;

        if (id < 0 || id >= _TONE_ID_MAX)
                return NULL;
        if (custom && custom[id] && custom[id][0])
                return custom[id];
        if (tone_country_find(country, &c) >= 0 && c->tones[id])
                return c->tones[id];
        return country_custom.tones[id];
}

/* --- parsing --- */

/* A decimal number without sign: digits with an optional fraction. Locale-free. */
static int parse_number(const char **p, double *ret) {
        const char *s = *p;
        double v = 0, scale = 1;
        bool digits = false;

        for (; *s >= '0' && *s <= '9'; s++, digits = true) {
                v = v * 10 + (*s - '0');
                if (v > 1e9)
                        return -EINVAL;
        }
        if (*s == '.')
                for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
                        v += (*s - '0') * (scale /= 10);
        if (!digits)
                return -EINVAL;
        *p = s;
        *ret = v;
        return 0;
}

static int parse_freq(const char **p, ToneFreq *ret, bool *ret_has_level) {
        double hz, level = 0;
        bool has_level = false, neg = false;
        int r;

        r = parse_number(p, &hz);
        if (r < 0 || hz > TONE_FREQ_MAX)
                return -EINVAL;
        if (**p == '@') {
                (*p)++;
                if (**p == '-' || **p == '+')
                        neg = *(*p)++ == '-';
                r = parse_number(p, &level);
                if (r < 0)
                        return r;
                level = neg ? -level : level;
                if (level < TONE_LEVEL_MIN || level > TONE_LEVEL_MAX)
                        return -EINVAL;
                has_level = true;
        }
        *ret = (ToneFreq) { .hz = hz, .level_dbm0 = level };
        *ret_has_level = has_level;
        return 0;
}

static void default_levels(TonePart *t, const bool *has_level) {
        unsigned n = t->modulated ? 1 : t->n_freqs;
        double level = TONE_DEFAULT_LEVEL_DBM0 - (n > 1 ? 10 * log10(n) : 0);

        for (unsigned i = 0; i < t->n_freqs; i++)
                if (!has_level[i])
                        t->freqs[i].level_dbm0 = level;
}

/* part := ["!"] freq (("+"|"*") freq)* ["/" ms], s without spaces, up to end. */
static int parse_part(const char *s, const char *end, TonePart *ret) {
        TonePart t = {};
        bool has_level[TONE_FREQS_MAX] = {}, star = false;
        double ms;
        int r;

        if (s < end && *s == '!') {
                t.once = true;
                s++;
        }
        for (;;) {
                ToneFreq f;
                bool hl;

                r = parse_freq(&s, &f, &hl);
                if (r < 0)
                        return r;
                if (f.hz > 0 || star) {
                        if (t.n_freqs >= TONE_FREQS_MAX)
                                return -EINVAL;
                        has_level[t.n_freqs] = hl;
                        t.freqs[t.n_freqs++] = f;
                }
                if (s < end && (*s == '+' || *s == '*')) {
                        if (*s == '*') {
                                if (star || t.n_freqs != 1)
                                        return -EINVAL;
                                star = true;
                        }
                        s++;
                        continue;
                }
                break;
        }
        if (star && (t.n_freqs != 2 || t.freqs[1].hz <= 0))
                return -EINVAL;
        t.modulated = star;
        if (s < end && *s == '/') {
                s++;
                r = parse_number(&s, &ms);
                if (r < 0 || ms < 1 || ms > TONE_DURATION_MAX_MS || ms != floor(ms))
                        return -EINVAL;
                t.duration_ms = (unsigned) ms;
        }
        if (s != end)
                return -EINVAL;
        default_levels(&t, has_level);
        *ret = t;
        return 0;
}

int tone_pattern_parse(const char *desc, TonePattern *ret) {
        char buf[TONE_DESC_MAX + 1];
        TonePattern pat = {};
        size_t n = 0;
        int r;

        if (!desc)
                return -EINVAL;
        /* Drop spaces. */
        for (const char *c = desc; *c; c++) {
                if (*c == ' ' || *c == '\t')
                        continue;
                if (n >= TONE_DESC_MAX)
                        return -EINVAL;
                buf[n++] = *c;
        }
        buf[n] = 0;
        if (n == 0)
                return -EINVAL;

        for (const char *s = buf;;) {
                const char *e = strchrnul(s, ',');

                if (pat.n_parts >= TONE_PARTS_MAX)
                        return -EINVAL;
                r = parse_part(s, e, &pat.parts[pat.n_parts]);
                if (r < 0)
                        return r;
                /* Only the last part may last forever. */
                if (pat.n_parts > 0 && pat.parts[pat.n_parts - 1].duration_ms == 0)
                        return -EINVAL;
                pat.n_parts++;
                if (!*e)
                        break;
                s = e + 1;
        }

        pat.loop_start = pat.n_parts;
        for (unsigned i = 0; i < pat.n_parts; i++)
                if (!pat.parts[i].once) {
                        pat.loop_start = i;
                        break;
                }
        *ret = pat;
        return 0;
}

unsigned tone_pattern_cycle_ms(const TonePattern *p) {
        unsigned ms = 0;

        if (p->loop_start >= p->n_parts)
                return 0;
        for (unsigned i = p->loop_start; i < p->n_parts; i++) {
                if (p->parts[i].once)
                        continue;
                if (p->parts[i].duration_ms == 0)
                        return 0;
                ms += p->parts[i].duration_ms;
        }
        return ms;
}

/* --- levels --- */

double tone_dbm0_to_amplitude(double dbm0) {
        return 32767.0 * pow(10.0, (dbm0 - TONE_DBM0_FULL_SCALE) / 20.0);
}

double tone_amplitude_to_dbm0(double amplitude) {
        return 20.0 * log10(amplitude / 32767.0) + TONE_DBM0_FULL_SCALE;
}

/* --- generation --- */

static void enter_part(ToneGen *g, unsigned part) {
        const TonePart *t = &g->pattern.parts[part];

        g->part = part;
        g->pos = 0;
        g->part_len = (uint64_t) t->duration_ms * g->rate / 1000;
        g->ramp_len = (unsigned) MIN((uint64_t) TONE_RAMP_MS * g->rate / 1000,
                                     g->part_len > 0 ? g->part_len / 2 : UINT64_MAX);
        for (unsigned i = 0; i < TONE_FREQS_MAX; i++) {
                bool on = i < t->n_freqs && t->freqs[i].hz * 2 < g->rate;
                g->amp[i] = on ? tone_dbm0_to_amplitude(t->freqs[i].level_dbm0) : 0;
                g->inc[i] = on ? t->freqs[i].hz / g->rate : 0;
                g->phase[i] = 0;
        }
}

/* The part after the current one: the first pass plays every part, later passes
 * skip the "!" ones. Returns false when the tone is over. */
static bool next_part(ToneGen *g) {
        for (unsigned i = g->part + 1; i < g->pattern.n_parts; i++)
                if (!g->pattern.parts[i].once || !g->looped) {
                        enter_part(g, i);
                        return true;
                }
        if (g->pattern.loop_start >= g->pattern.n_parts)
                return false;
        g->looped = true;
        enter_part(g, g->pattern.loop_start);
        return true;
}

int tone_gen_init(ToneGen *g, const TonePattern *pattern, unsigned rate) {
        if (rate < TONE_RATE_MIN || rate > TONE_RATE_MAX || pattern->n_parts == 0 ||
            pattern->n_parts > TONE_PARTS_MAX)
                return -EINVAL;
        *g = (ToneGen) {
                .pattern = *pattern,
                .rate = rate,
        };
        enter_part(g, 0);
        return 0;
}

int tone_gen_init_from_string(ToneGen *g, const char *desc, unsigned rate) {
        TonePattern p;
        int r;

        r = tone_pattern_parse(desc, &p);
        if (r < 0)
                return r;
        return tone_gen_init(g, &p, rate);
}

bool tone_gen_finished(const ToneGen *g) {
        return g->finished;
}

static double envelope(const ToneGen *g) {
        uint64_t from_end;

        if (g->ramp_len == 0)
                return 1;
        if (g->pos < g->ramp_len)
                return 0.5 - 0.5 * cos(M_PI * ((double) g->pos + 0.5) / g->ramp_len);
        if (g->part_len == 0)
                return 1;
        from_end = g->part_len - 1 - g->pos;
        if (from_end < g->ramp_len)
                return 0.5 - 0.5 * cos(M_PI * ((double) from_end + 0.5) / g->ramp_len);
        return 1;
}

static double advance_phase(ToneGen *g, unsigned i) {
        double s = sin(2 * M_PI * g->phase[i]);

        g->phase[i] += g->inc[i];
        if (g->phase[i] >= 1)
                g->phase[i] -= 1;
        return s;
}

static double one_sample(ToneGen *g) {
        const TonePart *t = &g->pattern.parts[g->part];
        double v = 0;

        if (t->modulated) {
                double c = advance_phase(g, 0), m = advance_phase(g, 1);
                v = g->amp[0] * c * (0.5 + 0.5 * m);
        } else
                for (unsigned i = 0; i < t->n_freqs; i++)
                        v += g->amp[i] * advance_phase(g, i);
        return v * envelope(g);
}

static int16_t saturate(double v) {
        v = round(v);
        return (int16_t) (v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

/* The next sample into *ret; false when the tone is over. */
static bool tone_sample(ToneGen *g, double *ret) {
        if (g->finished)
                return false;
        if (g->part_len > 0 && g->pos >= g->part_len && !next_part(g)) {
                g->finished = true;
                return false;
        }
        *ret = one_sample(g);
        g->pos++;
        return true;
}

size_t tone_gen_generate(ToneGen *g, int16_t *out, size_t n) {
        size_t k = 0;
        double v;

        for (; k < n && tone_sample(g, &v); k++)
                out[k] = saturate(v);
        memset(out + k, 0, (n - k) * sizeof(int16_t));
        return k;
}

size_t tone_gen_mix(ToneGen *g, int16_t *out, size_t n) {
        size_t k = 0;
        double v;

        for (; k < n && tone_sample(g, &v); k++)
                out[k] = saturate(out[k] + v);
        return k;
}
