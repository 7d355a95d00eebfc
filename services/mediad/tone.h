/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Call progress tones: textual descriptions, national tone sets, and a
 * generator of int16 PCM at any rate. Pure code, no allocation: every type here
 * is a fixed-size struct that can be copied or embedded (the generator can run
 * in the real-time audio thread).
 *
 * Description syntax (Asterisk indications.conf / Yealink voice.tone.*):
 *
 *   tone    := part ("," part)*
 *   part    := ["!"] freqs ["/" duration_ms]
 *   freqs   := freq ("+" freq)*           sum of sines (up to TONE_FREQS_MAX)
 *            | freq "*" freq              first frequency amplitude-modulated
 *                                         (100 %) by the second, e.g. "400*16"
 *   freq    := hz ["@" level]             hz 0 = silence; level in dBm0 (deskphone
 *                                         extension, e.g. "350@-13+440@-13")
 *
 *   - No duration: the part lasts forever (a continuous tone, "350+440").
 *   - "!" parts are played once, in order; the cadence then loops from the first
 *     part without "!" ("!950/330,!1400/330,!1800/330,0/1000"). When every part
 *     has "!", the tone ends after them (tone_gen_finished()).
 *   - Default level when a frequency has no "@": TONE_DEFAULT_LEVEL_DBM0 (-10)
 *     of total power shared between the summed frequencies, i.e. -13 dBm0 each
 *     for two. For "a*b" the level is that of the unmodulated carrier's peak.
 *   - Spaces are ignored; anything else (unknown characters, more than
 *     TONE_PARTS_MAX parts, hz above TONE_FREQ_MAX, durations above
 *     TONE_DURATION_MAX_MS, levels outside [TONE_LEVEL_MIN, TONE_LEVEL_MAX],
 *     an empty tone) is -EINVAL.
 *
 * Level: 0 dBm0 is the sine whose peak is TONE_DBM0_FULL_SCALE (3.14) dB below
 * int16 full scale (32767), the G.711 A-law convention (a full-scale sine is
 * +3.14 dBm0; mu-law's +3.17 differs by 0.03 dB).
 *
 * Generation: one phase accumulator (double precision) per frequency, kept
 * across calls, so the output does not depend on how it is cut into frames
 * (bit-identical). Each finite tone segment starts at phase 0 and is shaped by
 * a TONE_RAMP_MS raised-cosine ramp at both ends (no clicks at cadence edges);
 * the ramps are inside the segment's duration.
 *
 * Tone sets: tables keyed by country (ISO 3166 code or Yealink's
 * voice.tone.country name), from the national values collected in ITU-T E.180
 * Supplement 2 (frequencies, cadences) and the national specifications for
 * levels where the table gives them. "Custom" is the ITU-T E.180 recommended
 * set (425 Hz) and the fallback for any tone a country does not define.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TONE_DESC_MAX            512   /* characters of a description */
#define TONE_PARTS_MAX           32
#define TONE_FREQS_MAX           4
#define TONE_FREQ_MAX            20000 /* Hz; frequencies at or above half the sample rate are silent */
#define TONE_DURATION_MAX_MS     60000
#define TONE_LEVEL_MIN           (-60.0)
#define TONE_LEVEL_MAX           3.0
#define TONE_DEFAULT_LEVEL_DBM0  (-10.0)
#define TONE_DBM0_FULL_SCALE     3.14
#define TONE_RAMP_MS             2
#define TONE_RATE_MIN            8000U
#define TONE_RATE_MAX            192000U

typedef enum ToneId {
        TONE_DIAL,
        TONE_RINGBACK,     /* Yealink voice.tone.ring: what the caller hears while it rings */
        TONE_BUSY,
        TONE_CONGESTION,
        TONE_CALL_WAITING, /* voice.tone.callwaiting */
        TONE_DIAL_RECALL,  /* voice.tone.dialrecall */
        TONE_INFO,         /* voice.tone.info: special information tone */
        TONE_STUTTER,      /* voice.tone.stutter: dial tone with message waiting */
        TONE_MESSAGE,      /* voice.tone.message */
        TONE_AUTOANSWER,   /* voice.tone.autoanswer */
        TONE_RING,         /* the local ringer (when no ring file is played); no Yealink key */
        _TONE_ID_MAX,
        _TONE_ID_INVALID = -EINVAL,
} ToneId;

/* "dial", "ringback", "busy", "congestion", "call-waiting", "dial-recall", "info",
 * "stutter", "message", "autoanswer", "ring" (names used on D-Bus). */
const char *tone_id_to_string(ToneId id);
ToneId tone_id_from_string(const char *s);

/* The suffix of the Yealink key voice.tone.<suffix> for this tone ("dial", "ring"
 * for TONE_RINGBACK, "callwaiting"...), NULL for TONE_RING. */
const char *tone_id_yealink_key(ToneId id);

typedef struct ToneFreq {
        double hz;
        double level_dbm0;
} ToneFreq;

typedef struct TonePart {
        ToneFreq freqs[TONE_FREQS_MAX];
        unsigned n_freqs;      /* 0: silence */
        bool modulated;        /* "a*b": freqs[0] carrier, freqs[1] modulator */
        bool once;             /* "!" */
        unsigned duration_ms;  /* 0: forever */
} TonePart;

typedef struct TonePattern {
        TonePart parts[TONE_PARTS_MAX];
        unsigned n_parts;
        unsigned loop_start;   /* first part without "!"; n_parts if none (the tone ends) */
} TonePattern;

/* Parse a description. Returns 0 or -EINVAL. */
int tone_pattern_parse(const char *desc, TonePattern *ret);

/* Total length of one cadence cycle (the looping parts) in ms; 0 when a part lasts
 * forever or the tone does not loop. */
unsigned tone_pattern_cycle_ms(const TonePattern *p);

/* Country sets. */
typedef struct ToneCountry {
        const char *code;               /* "US", "GB", "DE", ... "Custom" */
        const char *yealink_name;       /* "United States", "Great Britain", ... */
        const char *tones[_TONE_ID_MAX]; /* descriptions; NULL: take the Custom one */
} ToneCountry;

/* Look a country up by ISO code (also "UK" for GB), Yealink name or "Custom",
 * case-insensitively. Returns 0 or -ENOENT. */
int tone_country_find(const char *name, const ToneCountry **ret);
/* NULL-terminated array of all countries, for documentation and tests. */
const ToneCountry *const *tone_countries(void);

/* The description to play for tone id: custom[id] when custom is not NULL and
 * custom[id] is a non-empty string (Yealink voice.tone.<key>), else the country's,
 * else Custom's. country NULL or unknown means Custom. Never NULL for a valid id. */
const char *tone_lookup(const char *country, const char *const *custom, ToneId id);

/* Generator; all fields are private. */
typedef struct ToneGen {
        TonePattern pattern;
        unsigned rate;
        unsigned part;           /* current part */
        uint64_t pos;            /* samples into the current part */
        uint64_t part_len;       /* samples of the current part, 0: forever */
        unsigned ramp_len;       /* samples */
        double amp[TONE_FREQS_MAX];
        double inc[TONE_FREQS_MAX];
        double phase[TONE_FREQS_MAX]; /* cycles, [0, 1) */
        bool looped;             /* past the first pass: "!" parts are skipped */
        bool finished;
} ToneGen;

/* rate in [TONE_RATE_MIN, TONE_RATE_MAX]. Returns 0 or -EINVAL. */
int tone_gen_init(ToneGen *g, const TonePattern *pattern, unsigned rate);
/* Parse and init in one go. Returns 0 or -EINVAL. */
int tone_gen_init_from_string(ToneGen *g, const char *desc, unsigned rate);

/* Write n samples (silence once the tone has finished). Returns how many of them
 * are tone (n, or fewer in the call where a one-shot tone ends). */
size_t tone_gen_generate(ToneGen *g, int16_t *out, size_t n);
/* Same, added to out with saturation (a call-waiting tone over the call's audio). */
size_t tone_gen_mix(ToneGen *g, int16_t *out, size_t n);

bool tone_gen_finished(const ToneGen *g);

/* Peak amplitude (int16 units) of a sine of level dBm0, and back. */
double tone_dbm0_to_amplitude(double dbm0);
double tone_amplitude_to_dbm0(double amplitude);
