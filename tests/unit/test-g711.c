/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * G.711 against the ITU-T G.191 STL sweep vectors (../shared/corpus/g711,
 * read in place: they are under the ITU-T software tools licence). sweep.src
 * holds every 16-bit value -32768..32767 once; sweep-r.u / sweep-r.a the code
 * of each (low byte of an int16), sweep-r.u-u / sweep-r.a-a those codes
 * decoded, sweep-r.reu / sweep-r.rea the whole sweep encoded and decoded. All
 * little-endian. Every input and every code of both laws, both directions.
 */
#include <time.h>

#include "codec.h"
#include "g711.h"
#include "tap.h"
#include "util.h"

#define N 65536

static char *vector_dir;

static int load(const char *name, int16_t **ret) {
        _cleanup_(freep) char *path = strjoin(vector_dir, "/", name, NULL), *data = NULL;
        size_t size;

        if (!path)
                return -ENOMEM;
        int r = read_full_file(path, &data, &size, 2 * N + 1);
        if (r < 0)
                return r;
        if (size != 2 * N)
                return -EBADMSG;
        int16_t *v = malloc(2 * N);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < N; i++)
                v[i] = (int16_t) ((uint8_t) data[2 * i] | (uint8_t) data[2 * i + 1] << 8);
        *ret = v;
        return 0;
}

typedef struct Law {
        const char *name;
        const char *encoded, *decoded, *round_trip;
        uint8_t (*encode)(int16_t);
        int16_t (*decode)(uint8_t);
} Law;

static const Law laws[] = {
        { "ulaw", "sweep-r.u", "sweep-r.u-u", "sweep-r.reu", g711_ulaw_encode, g711_ulaw_decode },
        { "alaw", "sweep-r.a", "sweep-r.a-a", "sweep-r.rea", g711_alaw_encode, g711_alaw_decode },
};

static void test_law(const Law *law, const int16_t *src) {
        _cleanup_(freep) int16_t *enc = NULL, *dec = NULL, *rt = NULL;
        char name[64];
        unsigned bad;

        snprintf(name, sizeof(name), "/g711/%s/vectors-present", law->name);
        tap_begin(name);
        check(load(law->encoded, &enc) == 0 && load(law->decoded, &dec) == 0 && load(law->round_trip, &rt) == 0);
        tap_end();
        if (!enc || !dec || !rt)
                return;

        snprintf(name, sizeof(name), "/g711/%s/encode-all-65536", law->name);
        tap_begin(name);
        bad = 0;
        for (size_t i = 0; i < N; i++)
                if (law->encode(src[i]) != (uint8_t) enc[i] && bad++ < 5)
                        check(false, "input %d: 0x%02x, STL 0x%02x", src[i], law->encode(src[i]), (uint8_t) enc[i]);
        check(bad == 0, "%u inputs differ", bad);
        tap_end();

        snprintf(name, sizeof(name), "/g711/%s/decode-all-256", law->name);
        tap_begin(name);
        bad = 0;
        bool seen[256] = {};
        for (size_t i = 0; i < N; i++) {
                seen[(uint8_t) enc[i]] = true;
                if (law->decode((uint8_t) enc[i]) != dec[i] && bad++ < 5)
                        check(false, "code 0x%02x: %d, STL %d", (uint8_t) enc[i], law->decode((uint8_t) enc[i]), dec[i]);
        }
        unsigned codes = 0;
        for (size_t c = 0; c < 256; c++)
                codes += seen[c];
        check(bad == 0, "%u samples differ", bad);
        /* mu-law's two zero codes: 0xFF (+0) is what the encoder makes, 0x7F (-0) is not */
        check(codes >= 255, "only %u codes covered by the sweep", codes);
        tap_end();

        snprintf(name, sizeof(name), "/g711/%s/encode-decode", law->name);
        tap_begin(name);
        bad = 0;
        for (size_t i = 0; i < N; i++)
                if (law->decode(law->encode(src[i])) != rt[i])
                        bad++;
        check(bad == 0, "%u inputs differ", bad);
        tap_end();
}

/* The few codes the sweep may not reach still decode as the law's table says. */
static void test_all_codes(void) {
        tap_begin("/g711/all-codes-symmetric");
        for (unsigned c = 0; c < 128; c++) {
                check(g711_ulaw_decode((uint8_t) c) == -g711_ulaw_decode((uint8_t) (c | 0x80)), "u 0x%02x", c);
                check(g711_alaw_decode((uint8_t) c) == -g711_alaw_decode((uint8_t) (c | 0x80)), "a 0x%02x", c);
        }
        check(g711_ulaw_decode(0xFF) == 0 && g711_ulaw_decode(0x80) == 32124 && g711_ulaw_decode(0x00) == -32124);
        check(g711_alaw_decode(0xD5) == 8 && g711_alaw_decode(0xAA) == 32256 && g711_alaw_decode(0x2A) == -32256);
        tap_end();
}

static void test_codec_ops(const int16_t *src) {
        uint8_t out[160];
        int16_t back[160];

        tap_begin("/g711/codec-ops");
        check(codec_find("pcmu") == &codec_pcmu && codec_find("PCMA") == &codec_pcma);
        check(codec_find_static(0) == &codec_pcmu && codec_find_static(8) == &codec_pcma);
        check(codec_pcmu.encode(NULL, src + 1000, 160, out, sizeof(out)) == 160);
        check(codec_pcmu.decode(NULL, out, 160, back, 160) == 160);
        check(back[10] == g711_ulaw_decode(g711_ulaw_encode(src[1010])));
        check(codec_pcma.encode(NULL, src, 160, out, 100) == -ENOBUFS);
        tap_end();
}

static double ns_per_sample(void (*fn)(uint8_t *, const int16_t *, size_t), const int16_t *src) {
        static uint8_t out[N];
        struct timespec a, b;
        unsigned rounds = 200;

        clock_gettime(CLOCK_MONOTONIC, &a);
        for (unsigned i = 0; i < rounds; i++) {
                fn(out, src, N);
                __asm__ volatile("" : : "r"(out) : "memory");
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ns = (double) (b.tv_sec - a.tv_sec) * 1e9 + (double) (b.tv_nsec - a.tv_nsec);
        return ns / ((double) rounds * N);
}

int main(int argc, char *argv[]) {
        _cleanup_(freep) int16_t *src = NULL;
        const char *corpus = argc > 1 ? argv[1] : getenv("DESKPHONE_CORPUS");

        vector_dir = corpus ? strjoin(corpus, "/g711/itu-t-g191-stl", NULL) : NULL;
        if (!vector_dir || load("sweep.src", &src) < 0) {
                tap_skip("/g711/vectors", "ITU-T G.191 vectors not found (../shared/corpus/g711)");
                free(vector_dir);
                return tap_finish();
        }
        tap_begin("/g711/sweep-is-every-value");
        for (size_t i = 0; i < N; i++)
                if (src[i] != (int16_t) (i - 32768)) {
                        check(false, "sample %zu", i);
                        break;
                }
        tap_end();

        for (size_t i = 0; i < ELEMENTSOF(laws); i++)
                test_law(&laws[i], src);
        test_all_codes();
        test_codec_ops(src);
        printf("# encode: mu-law %.2f ns/sample, A-law %.2f ns/sample\n", ns_per_sample(g711_ulaw_encode_n, src),
               ns_per_sample(g711_alaw_encode_n, src));
        free(vector_dir);
        return tap_finish();
}
