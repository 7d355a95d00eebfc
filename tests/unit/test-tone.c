/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Tones: the descriptions parse as they should, and what the generator produces
 * is measured the way a tester would: a Goertzel filter (Hann window) at each
 * expected frequency gives its level in dBm0, the total power shows nothing else
 * is there, a 1 ms energy envelope gives the cadence, and the output must not
 * depend on how it is cut into frames.
 */

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "tap.h"
#include "tone.h"

#define MAX_SAMPLES (48000 * 24)

static int16_t buf[MAX_SAMPLES], buf2[MAX_SAMPLES];
static const size_t odd_sizes[] = { 1, 7, 37, 161, 333, 80, 2, 999 };

/* Generate n samples in frames of the odd sizes. */
static void generate_chunked(ToneGen *g, int16_t *out, size_t n) {
        for (size_t off = 0, k = 0; off < n; k++) {
                size_t m = MIN(odd_sizes[k % ELEMENTSOF(odd_sizes)], n - off);
                tone_gen_generate(g, out + off, m);
                off += m;
        }
}

/* Peak amplitude of the component at f over x[0..n), Hann window, Goertzel. */
static double goertzel_amplitude(const int16_t *x, size_t n, unsigned rate, double f) {
        double w = 2 * M_PI * f / rate, coeff = 2 * cos(w), s1 = 0, s2 = 0, wsum = 0;

        for (size_t i = 0; i < n; i++) {
                double win = 0.5 - 0.5 * cos(2 * M_PI * ((double) i + 0.5) / (double) n);
                double s = x[i] * win + coeff * s1 - s2;
                s2 = s1;
                s1 = s;
                wsum += win;
        }
        return 2 * sqrt(MAX(s1 * s1 + s2 * s2 - coeff * s1 * s2, 0.0)) / wsum;
}

static double mean_square(const int16_t *x, size_t n) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
                s += (double) x[i] * x[i];
        return s / (double) n;
}

/* --- cadence --- */

typedef struct Run {
        bool on;
        unsigned ms;
        unsigned part; /* for expected runs: the part that starts it */
} Run;

#define RUNS_MAX 256

/* The parts the pattern plays in its first total_ms, as the generator walks them:
 * every part on the first pass, then from loop_start without the "!" ones. */
typedef struct Seg {
        unsigned part, start_ms, ms;
} Seg;

static unsigned timeline(const TonePattern *p, unsigned total_ms, Seg *segs) {
        unsigned n = 0, t = 0, i = 0;
        bool looped = false;

        while (t < total_ms && n < RUNS_MAX) {
                unsigned ms = p->parts[i].duration_ms ?: total_ms - t;

                segs[n++] = (Seg) { .part = i, .start_ms = t, .ms = ms };
                t += ms;
                do
                        i++;
                while (i < p->n_parts && looped && p->parts[i].once);
                if (i >= p->n_parts) {
                        if (p->loop_start >= p->n_parts)
                                break;
                        looped = true;
                        i = p->loop_start;
                }
        }
        return n;
}

/* On/off runs of a timeline, adjacent parts of the same kind merged. */
static unsigned expected_runs(const TonePattern *p, const Seg *segs, unsigned n_segs, Run *runs) {
        unsigned n = 0;

        for (unsigned i = 0; i < n_segs; i++) {
                bool on = p->parts[segs[i].part].n_freqs > 0;
                if (n > 0 && runs[n - 1].on == on)
                        runs[n - 1].ms += segs[i].ms;
                else
                        runs[n++] = (Run) { .on = on, .ms = segs[i].ms, .part = segs[i].part };
        }
        return n;
}

/* On/off runs of x in 1 ms blocks; off gaps under 20 ms (troughs of a modulated
 * tone) are merged into the tone around them. */
static unsigned measured_runs(const int16_t *x, size_t n, unsigned rate, Run *runs) {
        unsigned block = rate / 1000, nr = 0;
        double threshold = tone_dbm0_to_amplitude(-45) / sqrt(2);

        threshold *= threshold;
        for (size_t b = 0; b + block <= n && nr < RUNS_MAX; b += block) {
                bool on = mean_square(x + b, block) > threshold;
                if (nr > 0 && runs[nr - 1].on == on)
                        runs[nr - 1].ms++;
                else
                        runs[nr++] = (Run) { .on = on, .ms = 1 };
        }
        /* merge short gaps */
        for (unsigned i = 1; i + 1 < nr; i++)
                if (!runs[i].on && runs[i].ms < 20 && runs[i - 1].on && runs[i + 1].on) {
                        runs[i - 1].ms += runs[i].ms + runs[i + 1].ms;
                        memmove(runs + i, runs + i + 2, (nr - i - 2) * sizeof(Run));
                        nr -= 2;
                        i--;
                }
        return nr;
}

/* --- one tone, measured --- */

static bool check_component_levels(const TonePart *part, const int16_t *x, size_t n, unsigned rate, double *ret_err) {
        double expect_power = 0, worst = 0;
        bool ok = true;

        if (part->modulated) {
                /* A sin(c) (1 + sin(m)) / 2: carrier A/2, sidebands A/4 at c +- m. */
                double a = tone_dbm0_to_amplitude(part->freqs[0].level_dbm0), c = part->freqs[0].hz,
                       m = part->freqs[1].hz;
                double want[3][2] = { { c, a / 2 }, { c - m, a / 4 }, { c + m, a / 4 } };
                for (unsigned i = 0; i < 3; i++) {
                        double got = goertzel_amplitude(x, n, rate, want[i][0]);
                        double err = 20 * log10(got / want[i][1]);
                        worst = fabs(err) > fabs(worst) ? err : worst;
                }
                expect_power = a * a * 0.1875;
        } else
                for (unsigned i = 0; i < part->n_freqs; i++) {
                        double a = goertzel_amplitude(x, n, rate, part->freqs[i].hz);
                        double err = tone_amplitude_to_dbm0(a) - part->freqs[i].level_dbm0;
                        double amp = tone_dbm0_to_amplitude(part->freqs[i].level_dbm0);
                        worst = fabs(err) > fabs(worst) ? err : worst;
                        expect_power += amp * amp / 2;
                }
        ok = fabs(worst) <= 0.5;
        /* nothing else in there: the total power is what the components account for */
        ok = ok && fabs(10 * log10(mean_square(x, n) / expect_power)) <= 0.2;
        *ret_err = worst;
        return ok;
}

static void test_country_tone(const char *country, ToneId id, unsigned rate) {
        const char *desc = tone_lookup(country, NULL, id);
        unsigned cycle, total_ms, n_exp, n_meas, n_segs, checked = 0;
        Run exp[RUNS_MAX], meas[RUNS_MAX];
        Seg segs[RUNS_MAX];
        double worst_level = 0;
        TonePattern pat;
        ToneGen g;
        size_t n;
        char name[96];

        snprintf(name, sizeof(name), "/tone/%s/%s/%u", country, tone_id_to_string(id), rate);
        tap_begin(name);
        check(tone_pattern_parse(desc, &pat) == 0, "%s", desc);
        check(tone_gen_init(&g, &pat, rate) == 0);
        cycle = tone_pattern_cycle_ms(&pat);
        total_ms = cycle > 0 ? 2 * cycle + 200 : 1000;
        n = (size_t) total_ms * rate / 1000;
        if (!check(n <= MAX_SAMPLES)) {
                tap_end();
                return;
        }
        generate_chunked(&g, buf, n);

        /* Cadence: every complete run within 3 ms (the last one is cut by the end). */
        n_segs = timeline(&pat, total_ms, segs);
        n_exp = expected_runs(&pat, segs, n_segs, exp);
        n_meas = measured_runs(buf, n, rate, meas);
        check(n_meas == n_exp, "%u runs, expected %u", n_meas, n_exp);
        for (unsigned i = 0; i + 1 < MIN(n_meas, n_exp); i++)
                check(meas[i].on == exp[i].on && abs((int) meas[i].ms - (int) exp[i].ms) <= 3,
                      "run %u: %s %u ms, expected %s %u ms", i, meas[i].on ? "on" : "off", meas[i].ms,
                      exp[i].on ? "on" : "off", exp[i].ms);

        /* Frequencies and levels: the steady middle of each tone part (at most 500 ms). */
        for (unsigned i = 0; i < n_segs; i++) {
                const TonePart *part = &pat.parts[segs[i].part];
                unsigned len_ms, from_ms;
                double err = 0;
                bool ok;

                if (part->n_freqs == 0 || segs[i].start_ms + segs[i].ms > total_ms)
                        continue;
                len_ms = MIN(segs[i].ms - 2 * TONE_RAMP_MS - 2, 500U);
                from_ms = segs[i].start_ms + (segs[i].ms - len_ms) / 2;
                ok = check_component_levels(part, buf + (size_t) from_ms * rate / 1000, (size_t) len_ms * rate / 1000,
                                            rate, &err);
                check(ok, "part %u at %u ms: level off by %.2f dB", segs[i].part, from_ms, err);
                worst_level = fabs(err) > fabs(worst_level) ? err : worst_level;
                checked++;
        }
        check(checked > 0);
        printf("# %s: \"%s\": %u runs, %u tone parts measured, worst level error %+.4f dB\n", name, desc, n_meas,
               checked, worst_level);
        tap_end();
}

/* --- the rest --- */

static void test_parse(void) {
        static const char *const bad[] = {
                "", " ", "abc", "425/", "425/0", "425,0/100", "1+2+3+4+5", "400*16*2", "0*16", "400*0",
                "425@-70", "425@", "425@x", "425/100,", ",425", "25000", "M440", "425/1.5", "!", "425//100",
                "425/70000", "-425", "4 2 5/10 0,0/",
        };
        TonePattern p;
        char many[TONE_DESC_MAX + 64] = "";

        tap_begin("/tone/parse");
        check(tone_pattern_parse("350+440", &p) == 0);
        check(p.n_parts == 1 && p.parts[0].n_freqs == 2 && p.parts[0].duration_ms == 0 && p.loop_start == 0);
        check(fabs(p.parts[0].freqs[0].level_dbm0 - (-10 - 10 * log10(2))) < 1e-9);
        check(tone_pattern_cycle_ms(&p) == 0);

        check(tone_pattern_parse(" 440/2000 , 0/4000 ", &p) == 0);
        check(p.n_parts == 2 && p.parts[1].n_freqs == 0 && tone_pattern_cycle_ms(&p) == 6000);
        check(p.parts[0].freqs[0].level_dbm0 == TONE_DEFAULT_LEVEL_DBM0);

        check(tone_pattern_parse("!950/330,!1400/330,!1800/330,0/1000", &p) == 0);
        check(p.n_parts == 4 && p.loop_start == 3 && p.parts[0].once && !p.parts[3].once);
        check(tone_pattern_cycle_ms(&p) == 1000);

        check(tone_pattern_parse("!440/100,!0/50", &p) == 0);
        check(p.loop_start == 2 && tone_pattern_cycle_ms(&p) == 0);

        check(tone_pattern_parse("400*16/1000,0/2000", &p) == 0);
        check(p.parts[0].modulated && p.parts[0].n_freqs == 2 && p.parts[0].freqs[1].hz == 16);

        check(tone_pattern_parse("350@-13+440@-13.5", &p) == 0);
        check(p.parts[0].freqs[0].level_dbm0 == -13 && p.parts[0].freqs[1].level_dbm0 == -13.5);
        check(tone_pattern_parse("913.8@+0/274", &p) == 0);
        check(fabs(p.parts[0].freqs[0].hz - 913.8) < 1e-9 && p.parts[0].freqs[0].level_dbm0 == 0);
        check(tone_pattern_parse("425", &p) == 0 && p.parts[0].n_freqs == 1);
        check(tone_pattern_parse("0", &p) == 0 && p.parts[0].n_freqs == 0);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                check(tone_pattern_parse(bad[i], &p) == -EINVAL, "\"%s\" accepted", bad[i]);
        check(tone_pattern_parse(NULL, &p) == -EINVAL);

        /* TONE_PARTS_MAX parts are fine, one more is not */
        for (unsigned i = 0; i < TONE_PARTS_MAX; i++)
                strcat(many, i ? ",1/1" : "1/1");
        check(tone_pattern_parse(many, &p) == 0 && p.n_parts == TONE_PARTS_MAX);
        strcat(many, ",1/1");
        check(tone_pattern_parse(many, &p) == -EINVAL);
        memset(many, '1', sizeof(many) - 1);
        many[sizeof(many) - 1] = 0;
        check(tone_pattern_parse(many, &p) == -EINVAL);
        tap_end();
}

static void test_countries(void) {
        const ToneCountry *const *all = tone_countries(), *c;
        const char *custom[_TONE_ID_MAX] = { [TONE_BUSY] = "480+620/500,0/500", [TONE_DIAL] = "" };
        unsigned n = 0;

        tap_begin("/tone/countries");
        for (size_t i = 0; all[i]; i++, n++)
                for (ToneId id = 0; id < _TONE_ID_MAX; id++) {
                        const char *d = tone_lookup(all[i]->code, NULL, id);
                        TonePattern p;
                        ToneGen g;
                        check(d && tone_pattern_parse(d, &p) == 0, "%s %s: \"%s\"", all[i]->code,
                              tone_id_to_string(id), strempty(d));
                        check(tone_gen_init(&g, &p, 8000) == 0);
                }
        check(n >= 10, "%u countries", n);
        for (const char *const *code = (const char *const[]) { "US", "GB", "DE", "FR", "IT", "NL", "AU", "CN", "JP",
                                                                "Custom", NULL };
             *code; code++)
                check(tone_country_find(*code, &c) == 0 && streq(c->code, *code), "%s", *code);
        check(tone_country_find("United States", &c) == 0 && streq(c->code, "US"));
        check(tone_country_find("great britain", &c) == 0 && streq(c->code, "GB"));
        check(tone_country_find("UK", &c) == 0 && streq(c->code, "GB"));
        check(tone_country_find("Germany", &c) == 0 && streq(c->code, "DE"));
        check(tone_country_find("Narnia", &c) == -ENOENT);
        check(tone_country_find(NULL, &c) == -ENOENT);

        check(streq(tone_lookup("Narnia", NULL, TONE_DIAL), "425"));
        check(streq(tone_lookup(NULL, NULL, TONE_RINGBACK), "425/1000,0/4000"));
        check(streq(tone_lookup("DE", NULL, TONE_BUSY), "425/480,0/480"));
        check(streq(tone_lookup("DE", NULL, TONE_INFO), tone_lookup("Custom", NULL, TONE_INFO)));
        /* voice.tone.busy set: it wins; voice.tone.dial empty: the country's */
        check(streq(tone_lookup("DE", custom, TONE_BUSY), "480+620/500,0/500"));
        check(streq(tone_lookup("US", custom, TONE_DIAL), "350@-13+440@-13"));
        check(tone_lookup("US", NULL, _TONE_ID_MAX) == NULL);

        for (ToneId id = 0; id < _TONE_ID_MAX; id++)
                check(tone_id_from_string(tone_id_to_string(id)) == id);
        check(tone_id_from_string("nope") == -EINVAL);
        check(streq(tone_id_yealink_key(TONE_RINGBACK), "ring"));
        check(streq(tone_id_yealink_key(TONE_CALL_WAITING), "callwaiting"));
        check(tone_id_yealink_key(TONE_RING) == NULL);
        tap_end();
}

static void test_phase_continuity(unsigned rate, const char *desc) {
        ToneGen a, b;
        TonePattern p;
        size_t n = rate * 3;
        int max_step = 0;
        double bound = 0;
        char name[96];

        snprintf(name, sizeof(name), "/tone/phase-continuity/%u/%s", rate, desc);
        tap_begin(name);
        check(tone_pattern_parse(desc, &p) == 0);
        check(tone_gen_init(&a, &p, rate) == 0 && tone_gen_init(&b, &p, rate) == 0);
        tone_gen_generate(&a, buf, n);
        generate_chunked(&b, buf2, n);
        check(memcmp(buf, buf2, n * sizeof(int16_t)) == 0, "framing changed the output");
        /* no step larger than the steepest slope of the sum of sines (+1 for rounding) */
        for (unsigned i = 0; i < p.parts[0].n_freqs; i++)
                bound += 2 * M_PI * p.parts[0].freqs[i].hz / rate * tone_dbm0_to_amplitude(p.parts[0].freqs[i].level_dbm0);
        for (size_t i = 1; i < n; i++)
                max_step = MAX(max_step, abs(buf2[i] - buf2[i - 1]));
        check(max_step <= bound + 1, "step %d, bound %.1f", max_step, bound);
        tap_end();
}

static void test_absolute_level(void) {
        static const double levels[] = { 3, 0, -3, -10, -13, -24, -30, -50 };
        ToneGen g;
        char desc[32];

        tap_begin("/tone/level/absolute");
        check(fabs(tone_dbm0_to_amplitude(TONE_DBM0_FULL_SCALE) - 32767) < 1e-6);
        check(fabs(tone_amplitude_to_dbm0(tone_dbm0_to_amplitude(-17.5)) + 17.5) < 1e-9);
        for (size_t i = 0; i < ELEMENTSOF(levels); i++) {
                double got;
                snprintf(desc, sizeof(desc), "1004@%g", levels[i]);
                check(tone_gen_init_from_string(&g, desc, 8000) == 0);
                tone_gen_generate(&g, buf, 8000);
                /* after the 2 ms ramp */
                got = tone_amplitude_to_dbm0(goertzel_amplitude(buf + 80, 4000, 8000, 1004));
                check(fabs(got - levels[i]) <= 0.5, "%s: %.3f dBm0", desc, got);
                got = tone_amplitude_to_dbm0(sqrt(2 * mean_square(buf + 80, 4000)));
                check(fabs(got - levels[i]) <= 0.5, "%s: RMS says %.3f dBm0", desc, got);
        }
        tap_end();
}

static void test_one_shot(void) {
        ToneGen g;
        size_t total = 0, k;

        tap_begin("/tone/one-shot");
        check(tone_gen_init_from_string(&g, "!440/100,!0/50,!880/100", 8000) == 0);
        for (int i = 0; i < 10; i++) {
                memset(buf, 0x55, 300 * sizeof(int16_t));
                k = tone_gen_generate(&g, buf, 300);
                total += k;
                for (size_t j = k; j < 300; j++)
                        check(buf[j] == 0);
        }
        check(total == 2000, "%zu samples", total);
        check(tone_gen_finished(&g));
        check(tone_gen_init_from_string(&g, "!440/100,0/50,880/100", 8000) == 0);
        tone_gen_generate(&g, buf, 8000);
        check(!tone_gen_finished(&g));
        check(tone_gen_init_from_string(&g, "440", 7999) == -EINVAL);
        tap_end();
}

static void test_mix(void) {
        ToneGen g;
        bool ok = true;

        tap_begin("/tone/mix");
        check(tone_gen_init_from_string(&g, "1000@0", 8000) == 0);
        for (size_t i = 0; i < 800; i++)
                buf[i] = (int16_t) (i % 2 ? 30000 : -30000);
        check(tone_gen_mix(&g, buf, 800) == 800);
        /* saturated, never wrapped */
        for (size_t i = 0; i < 800; i++)
                ok = ok && (i % 2 ? buf[i] > 0 : buf[i] < 0);
        check(ok);
        tap_end();
}

int main(void) {
        static const ToneId ids[] = { TONE_DIAL, TONE_RINGBACK, TONE_BUSY, TONE_CONGESTION, TONE_CALL_WAITING, TONE_RING };

        test_parse();
        test_countries();
        for (const char *const *c = (const char *const[]) { "US", "DE", NULL }; *c; c++)
                for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                        test_country_tone(*c, ids[i], 8000);
                        test_country_tone(*c, ids[i], 48000);
                }
        test_country_tone("US", TONE_INFO, 16000);
        test_country_tone("GB", TONE_CONGESTION, 16000);
        test_country_tone("JP", TONE_RINGBACK, 16000);
        test_country_tone("IT", TONE_DIAL, 8000);
        test_country_tone("US", TONE_STUTTER, 8000);
        test_phase_continuity(8000, "350@-13+440@-13");
        test_phase_continuity(44100, "350@-13+440@-13");
        test_phase_continuity(48000, "425");
        test_phase_continuity(16000, "480+620/500,0/500");
        test_absolute_level();
        test_one_shot();
        test_mix();
        return tap_finish();
}
