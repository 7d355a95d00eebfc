/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The jitter buffer against simulated networks: packets with arrival times are
 * pushed, a consumer pulls one frame per tick of its own clock, and the played
 * sequence and the statistics are checked. Each packet's payload is its index
 * in the sent stream, so what is played can be compared with what was sent.
 */

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "jitter.h"
#include "tap.h"

#define RATE 8000U
#define FRAME_MS 20U
#define FRAME_TS (RATE / 1000 * FRAME_MS)
#define FRAME_US (FRAME_MS * 1000ULL)
#define MAX_PKTS 8192

typedef struct Pkt {
        uint64_t t_us;
        uint32_t id;
        uint32_t ssrc;
        uint16_t seq;
        uint32_t ts;
        bool marker;
        bool dropped; /* lost by the network: never arrives */
} Pkt;

typedef struct Run {
        unsigned frames, missing, empty;
        unsigned missing_inside; /* missing before the last frame (not the stream's tail) */
        uint32_t played[MAX_PKTS]; /* ids of the JB_FRAME results, in order */
        unsigned n_played;
        int n_eexist, n_estale;
        /* sampled after settle_us */
        uint64_t settle_us;
        unsigned target_min, target_max, delay_max, buffered_max;
        unsigned missing_run_max, missing_run;
        bool durations_ok;
} Run;

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

/* Uniform in [0, 1). */
static double rnd(void) {
        return (double) (rng() >> 11) / (double) (1ULL << 53);
}

static JitterBuffer *new_jb(bool adaptive, unsigned min, unsigned max, unsigned normal) {
        JitterConfig c;
        JitterBuffer *jb = NULL;

        jb_config_init(&c);
        c.adaptive = adaptive;
        c.min_ms = min;
        c.max_ms = max;
        c.normal_ms = normal;
        if (jb_new(&c, RATE, FRAME_MS, &jb) < 0)
                abort();
        return jb;
}

/* A regular stream: packet i sent at i * FRAME_MS * (1 + ppm), arriving 5 ms later. */
static void make_stream(Pkt *p, size_t n, uint16_t seq0, uint32_t ts0, uint32_t ssrc, double ppm) {
        for (size_t i = 0; i < n; i++)
                p[i] = (Pkt) {
                        .t_us = 5000 + (uint64_t) ((double) i * FRAME_US / (1.0 + ppm * 1e-6)),
                        .id = (uint32_t) i,
                        .ssrc = ssrc,
                        .seq = (uint16_t) (seq0 + i),
                        .ts = ts0 + (uint32_t) (i * FRAME_TS),
                        .marker = i == 0,
                };
}

static int cmp_arrival(const void *a, const void *b) {
        const Pkt *x = a, *y = b;
        if (x->t_us != y->t_us)
                return x->t_us < y->t_us ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

static void put_one(JitterBuffer *jb, const Pkt *p, Run *r) {
        uint8_t payload[4];
        int k;

        memcpy(payload, &p->id, sizeof(payload));
        k = jb_put(jb, &(JitterPacket) { .ssrc = p->ssrc, .seq = p->seq, .ts = p->ts, .marker = p->marker,
                                          .payload = payload, .size = sizeof(payload) }, p->t_us);
        if (k == -EEXIST)
                r->n_eexist++;
        else if (k == -ESTALE)
                r->n_estale++;
}

/* After settle_us, on each frame played: the range of the target, the largest delay. */
static void sample(JitterBuffer *jb, uint64_t now, JitterResult res, Run *r) {
        JitterStats s;

        if (now < r->settle_us || res != JB_FRAME)
                return;
        jb_get_stats(jb, &s);
        r->target_min = MIN(r->target_min, s.target_delay_ms);
        r->target_max = MAX(r->target_max, s.target_delay_ms);
        r->delay_max = MAX(r->delay_max, s.current_delay_ms);
        r->buffered_max = MAX(r->buffered_max, s.buffered_ms);
}

/* Sort the packets by arrival, then run the consumer every tick_us from tick0 to end_us. */
static void simulate(JitterBuffer *jb, Pkt *pk, size_t n, uint64_t tick0, uint64_t tick_us, uint64_t end_us, Run *r) {
        size_t next = 0;

        qsort(pk, n, sizeof(Pkt), cmp_arrival);
        r->target_min = UINT32_MAX;
        r->durations_ok = true;
        for (uint64_t now = tick0; now < end_us; now += tick_us) {
                JitterFrame f;
                JitterResult res;

                for (; next < n && pk[next].t_us <= now; next++)
                        if (!pk[next].dropped)
                                put_one(jb, &pk[next], r);
                res = jb_get(jb, now, &f);
                if (f.duration == 0)
                        r->durations_ok = false;
                switch (res) {
                case JB_FRAME: {
                        uint32_t id;
                        r->frames++;
                        memcpy(&id, f.payload, sizeof(id));
                        if (r->n_played < MAX_PKTS)
                                r->played[r->n_played++] = id;
                        r->missing_run = 0;
                        r->missing_inside = r->missing;
                        break;
                }
                case JB_MISSING:
                        r->missing++;
                        r->missing_run++;
                        if (now >= r->settle_us)
                                r->missing_run_max = MAX(r->missing_run_max, r->missing_run);
                        break;
                case JB_EMPTY:
                        r->empty++;
                        break;
                }
                sample(jb, now, res, r);
        }
}

/* The played ids are strictly increasing; returns how many were skipped. */
static int check_order(const Run *r, unsigned *ret_gaps) {
        unsigned gaps = 0;

        for (unsigned i = 1; i < r->n_played; i++) {
                if (r->played[i] <= r->played[i - 1])
                        return -1;
                gaps += r->played[i] - r->played[i - 1] - 1;
        }
        *ret_gaps = gaps;
        return 0;
}

/* What was played: in order, ids 0..n-1 except never_played of them and those dropped to
 * lower the delay, with last_id at the end. */
static bool check_stream_(const Run *r, const JitterStats *s, unsigned n, unsigned never_played, uint32_t last_id,
                          const char *file, int line) {
        unsigned gaps = 0;
        bool ok = check_order(r, &gaps) == 0;

        ok = ok && gaps + r->played[0] == never_played + s->dropped;
        ok = ok && r->frames + never_played + s->dropped == n;
        ok = ok && r->played[r->n_played - 1] == last_id;
        return tap_check(ok, file, line, "stream", " frames %u of %u, first %u last %u gaps %u, dropped %" PRIu64
                         ", expected %u never played", r->frames, n, r->played[0], r->played[r->n_played - 1], gaps,
                         s->dropped, never_played);
}
#define check_stream(r, s, n, never, last) check_stream_(r, s, n, never, last, __FILE__, __LINE__)

static Pkt pk[MAX_PKTS];
static Run run;

static void run_reset(void) {
        memset(&run, 0, sizeof(run));
}

static void test_in_order(void) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(true, 0, 300, 120);
        JitterStats s;

        tap_begin("/jitter/in-order");
        run_reset();
        make_stream(pk, 200, 1000, 5000, 0x1234, 0);
        simulate(jb, pk, 200, 3300, FRAME_US, 200 * FRAME_US + 400000, &run);
        jb_get_stats(jb, &s);
        check_stream(&run, &s, 200, 0, 199);
        check(run.missing_inside == 0, "missing %u", run.missing_inside);
        check(s.received == 200 && s.lost == 0 && s.late == 0 && s.duplicate == 0 && s.reordered == 0,
              "received %" PRIu64 " lost %" PRIu64 " late %" PRIu64, s.received, s.lost, s.late);
        check(run.durations_ok);
        /* No jitter at all: after the warm-up the target goes down to the margin and the
         * delay follows it (drops at the bounded rate). */
        check(s.target_delay_ms <= 10, "target %u", s.target_delay_ms);
        check(s.dropped >= 3 && s.dropped <= 6, "dropped %" PRIu64, s.dropped);
        tap_end();
}

static void test_reorder(unsigned k) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(true, 0, 300, 120);
        char name[64];
        JitterStats s;
        unsigned n = 300, moved = 0;

        snprintf(name, sizeof(name), "/jitter/reorder/%u", k);
        tap_begin(name);
        run_reset();
        make_stream(pk, n, 40000, 123456, 7, 0);
        /* Every 10th packet overtaken by the k that follow it. */
        for (unsigned i = 10; i + k < n; i += 10) {
                pk[i].t_us += k * FRAME_US + 1000;
                moved++;
        }
        simulate(jb, pk, n, 1700, FRAME_US, n * FRAME_US + 500000, &run);
        jb_get_stats(jb, &s);
        check_stream(&run, &s, n, 0, n - 1);
        check(run.missing_inside == 0, "missing %u", run.missing_inside);
        check(s.reordered == moved, "reordered %" PRIu64 " moved %u", s.reordered, moved);
        check(s.lost == 0 && s.late == 0, "lost %" PRIu64 " late %" PRIu64, s.lost, s.late);
        /* The peak follows the reordering: target about k frames + margin. */
        check(s.target_delay_ms >= k * FRAME_MS && s.target_delay_ms <= k * FRAME_MS + 12,
              "target %u", s.target_delay_ms);
        tap_end();
}

static void test_duplicate(void) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(true, 0, 300, 120);
        JitterStats s;
        unsigned n = 200, dups = 0;

        tap_begin("/jitter/duplicate");
        run_reset();
        make_stream(pk, n, 1, 1, 99, 0);
        /* Every 7th packet twice: once at once (still queued), once 1 s later (played). */
        for (unsigned i = 0; i < n; i += 7) {
                pk[n + dups] = pk[i];
                pk[n + dups].t_us += (dups % 2) ? 1000000 : 1000;
                dups++;
        }
        simulate(jb, pk, n + dups, 1700, FRAME_US, n * FRAME_US + 1500000, &run);
        jb_get_stats(jb, &s);
        check_stream(&run, &s, n, 0, n - 1);
        check(s.duplicate == dups, "duplicate %" PRIu64 " sent %u", s.duplicate, dups);
        check(run.n_eexist == (int) dups, "EEXIST %d", run.n_eexist);
        check(s.received == n && s.lost == 0 && s.late == 0);
        tap_end();
}

static void test_late(void) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(false, 0, 300, 60);
        JitterStats s;
        unsigned n = 200;

        tap_begin("/jitter/late");
        run_reset();
        make_stream(pk, n, 65000, 0, 5, 0);
        pk[100].t_us += 200000; /* fixed 60 ms buffer: 200 ms is too late */
        simulate(jb, pk, n, 1700, FRAME_US, n * FRAME_US + 500000, &run);
        jb_get_stats(jb, &s);
        check_stream(&run, &s, n, 1, n - 1);
        check(s.late == 1 && run.n_estale == 1, "late %" PRIu64, s.late);
        check(s.lost == 1, "lost %" PRIu64, s.lost);
        check(s.target_delay_ms == 60, "fixed target %u", s.target_delay_ms);
        check(run.missing_inside == 1, "missing %u", run.missing_inside);
        tap_end();
}

static void test_burst_loss(void) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(true, 0, 300, 60);
        JitterStats s;
        unsigned n = 300;

        tap_begin("/jitter/burst-loss");
        run_reset();
        make_stream(pk, n, 100, 100, 5, 0);
        for (unsigned i = 150; i < 160; i++)
                pk[i].dropped = true;
        /* and a short one */
        pk[200].dropped = pk[201].dropped = true;
        simulate(jb, pk, n, 1700, FRAME_US, n * FRAME_US + 500000, &run);
        jb_get_stats(jb, &s);
        check_stream(&run, &s, n, 12, n - 1);
        check(s.lost == 12, "lost %" PRIu64, s.lost);
        check(s.late == 0 && s.received == n - 12);
        /* 200 ms hole: concealed, then idle (the caller's PLC would have faded out). */
        check(run.missing_inside >= 2 && run.missing_inside + run.empty >= 12, "missing %u empty %u",
              run.missing_inside, run.empty);
        tap_end();
}

static void test_seq_wrap(void) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(true, 60, 300, 60);
        JitterStats s;
        unsigned n = 400;

        tap_begin("/jitter/seq-wrap");
        run_reset();
        make_stream(pk, n, 65400, 77, 5, 0);
        /* reorder right across the wrap: 65535 after 0 and 1 */
        pk[135].t_us += 2 * FRAME_US + 500;
        pk[300].dropped = true;
        simulate(jb, pk, n, 1700, FRAME_US, n * FRAME_US + 500000, &run);
        jb_get_stats(jb, &s);
        check_stream(&run, &s, n, 1, n - 1);
        check(s.reordered == 1 && s.lost == 1 && s.late == 0 && s.bad_seq == 0 && s.resyncs == 0,
              "reordered %" PRIu64 " lost %" PRIu64 " bad %" PRIu64, s.reordered, s.lost, s.bad_seq);
        tap_end();
}

static void test_ts_wrap(void) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(true, 20, 300, 60);
        JitterStats s;
        unsigned n = 300;

        tap_begin("/jitter/ts-wrap");
        run_reset();
        make_stream(pk, n, 9, UINT32_MAX - 50 * FRAME_TS + 17, 5, 0);
        pk[51].t_us += FRAME_US + 500; /* reordered right at the wrap */
        simulate(jb, pk, n, 1700, FRAME_US, n * FRAME_US + 500000, &run);
        jb_get_stats(jb, &s);
        check_stream(&run, &s, n, 0, n - 1);
        check(s.resyncs == 0 && s.lost == 0 && s.late == 0, "resyncs %" PRIu64, s.resyncs);
        check(run.durations_ok && run.missing_inside == 0, "missing %u", run.missing_inside);
        tap_end();
}

static void test_ssrc_change(void) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(true, 20, 300, 60);
        JitterStats s;
        unsigned gaps = 0;
        unsigned n = 400;

        tap_begin("/jitter/ssrc-change");
        run_reset();
        make_stream(pk, n, 500, 1000, 0xAAAA, 0);
        /* From packet 200 on a new source: other SSRC, sequence and timestamp origin. */
        for (unsigned i = 200; i < n; i++) {
                pk[i].ssrc = 0xBBBB;
                pk[i].seq = (uint16_t) (30000 + i);
                pk[i].ts = 0x80000000U + i * FRAME_TS;
                pk[i].marker = i == 200;
        }
        simulate(jb, pk, n, 1700, FRAME_US, n * FRAME_US + 500000, &run);
        jb_get_stats(jb, &s);
        check(s.resyncs == 1, "resyncs %" PRIu64, s.resyncs);
        check(s.bad_seq == 0 && s.late == 0 && s.received == n);
        check(check_order(&run, &gaps) == 0, "order");
        /* The switch may flush what was queued of the old source (a few frames). */
        check(run.frames >= n - 4 && gaps <= 4, "frames %u gaps %u", run.frames, gaps);
        check(run.played[run.n_played - 1] == n - 1);
        tap_end();
}

static void test_seq_jump(void) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(true, 20, 300, 60);
        JitterStats s;
        unsigned n = 200;

        tap_begin("/jitter/seq-jump");
        run_reset();
        make_stream(pk, n, 100, 1000, 1, 0);
        pk[50].seq = 40000; /* one stray packet far away: refused, no restart */
        for (unsigned i = 120; i < n; i++) /* the sender restarts its numbering: followed */
                pk[i].seq = (uint16_t) (20000 + i);
        simulate(jb, pk, n, 1700, FRAME_US, n * FRAME_US + 500000, &run);
        jb_get_stats(jb, &s);
        check(s.bad_seq == 2, "bad_seq %" PRIu64, s.bad_seq);
        check(s.resyncs == 1, "resyncs %" PRIu64, s.resyncs);
        check(run.frames >= n - 6, "frames %u", run.frames);
        check(run.played[run.n_played - 1] == n - 1);
        tap_end();
}

static void test_ts_jump(void) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(true, 20, 300, 60);
        JitterStats s;
        unsigned n = 300;

        tap_begin("/jitter/ts-jump");
        run_reset();
        make_stream(pk, n, 100, 1000, 1, 0);
        /* The sender's timestamp clock jumps by a day's worth (same SSRC, sequence goes on). */
        for (unsigned i = 150; i < n; i++)
                pk[i].ts += 8000U * 86400U;
        simulate(jb, pk, n, 1700, FRAME_US, n * FRAME_US + 500000, &run);
        jb_get_stats(jb, &s);
        check(s.resyncs == 1, "resyncs %" PRIu64, s.resyncs);
        check(s.late == 0 && s.bad_seq == 0);
        check(run.frames >= n - 6, "frames %u", run.frames);
        check(run.played[run.n_played - 1] == n - 1);
        tap_end();
}

static void test_talk_spurts(void) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(true, 0, 300, 100);
        JitterStats s;
        unsigned n = 400;

        tap_begin("/jitter/talk-spurts");
        run_reset();
        /* DTX: 100 packets of speech, 1 s of silence (timestamps and time go on, sequence
         * numbers do not), marker on each spurt's first packet. */
        make_stream(pk, n, 7, 7, 3, 0);
        for (unsigned i = 0; i < n; i++) {
                unsigned spurt = i / 100;
                pk[i].t_us += spurt * 1000000ULL;
                pk[i].ts += spurt * RATE;
                pk[i].marker = i % 100 == 0;
        }
        run.settle_us = 3 * 1000000 + 2 * 1000000; /* the fourth spurt */
        simulate(jb, pk, n, 1700, FRAME_US, n * FRAME_US + 4000000, &run);
        jb_get_stats(jb, &s);
        check_stream(&run, &s, n, 0, n - 1);
        /* From normal (100 ms) down to the target within the first spurt; none after. */
        check(s.dropped <= 4, "dropped %" PRIu64, s.dropped);
        /* Only the ends of the spurts run dry (120 ms each, then idle). */
        check(s.lost == 0 && s.underruns == 4 * JB_UNDERRUN_IDLE_MS / FRAME_MS && s.resyncs == 0,
              "lost %" PRIu64 " underruns %" PRIu64, s.lost, s.underruns);
        /* Adapted at the spurt starts, not by dropping frames. */
        check(s.target_delay_ms <= 10, "target %u", s.target_delay_ms);
        check(run.delay_max <= s.target_delay_ms + FRAME_MS, "delay %u", run.delay_max);
        tap_end();
}

static void test_network(void) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(true, 20, 300, 120);
        JitterStats s;
        unsigned gaps = 0;
        unsigned n = 3000, dropped = 0;

        tap_begin("/jitter/network/jitter-40ms-loss-5pct-60s");
        run_reset();
        rng_state = 0x1234567;
        make_stream(pk, n, 1, 1, 3, 0);
        for (unsigned i = 0; i < n; i++) {
                pk[i].t_us += (uint64_t) (rnd() * 40000.0);
                if (i > 0 && i < n - 1 && rnd() < 0.05) {
                        pk[i].dropped = true;
                        dropped++;
                }
        }
        run.settle_us = 20000000;
        simulate(jb, pk, n, 1700, FRAME_US, n * FRAME_US + 500000, &run);
        jb_get_stats(jb, &s);
        printf("# sent %u dropped %u: received %" PRIu64 " lost %" PRIu64 " late %" PRIu64
               " reordered %" PRIu64 " underruns %" PRIu64 " dropped %" PRIu64 " inserted %" PRIu64
               " target %u..%u ms (final %u) delay max %u ms jitter %u ms\n",
               n, dropped, s.received, s.lost, s.late, s.reordered, s.underruns, s.dropped, s.inserted,
               run.target_min, run.target_max, s.target_delay_ms, run.delay_max, s.jitter_ms);
        check(check_order(&run, &gaps) == 0);
        check(s.received == n - dropped, "received %" PRIu64, s.received);
        /* Every frame the network lost was concealed; late ones are counted in both. */
        check(s.lost - s.late == dropped, "lost %" PRIu64 " late %" PRIu64, s.lost, s.late);
        check(s.late <= n / 200, "late %" PRIu64, s.late); /* < 0.5 % on top of the 5 % */
        check(s.reordered > n / 10, "reordered %" PRIu64, s.reordered);
        check(run.frames + s.late + s.dropped + dropped == n, "frames %u", run.frames);
        /* Settled (last 40 s): 40 ms of jitter plus the margin, well inside [20, 300]. */
        check(run.target_min >= 40 && run.target_max <= 56, "target %u..%u", run.target_min, run.target_max);
        check(run.delay_max <= run.target_max + 2 * FRAME_MS, "delay max %u", run.delay_max);
        check(s.jitter_ms >= 36 && s.jitter_ms <= 44, "jitter %u", s.jitter_ms);
        tap_end();
}

static void test_drift(double ppm) {
        _cleanup_(jb_freep) JitterBuffer *jb = new_jb(true, 20, 300, 60);
        char name[64];
        JitterStats s;
        unsigned gaps = 0;
        unsigned n = 3000;

        snprintf(name, sizeof(name), "/jitter/drift/%+.0fppm", ppm);
        tap_begin(name);
        run_reset();
        rng_state = 0xfeed;
        /* The sender's clock runs ppm fast (more packets per second of ours), with 10 ms
         * of jitter; 60 s of packets. */
        make_stream(pk, n, 1, 1, 3, ppm);
        for (unsigned i = 0; i < n; i++)
                pk[i].t_us += (uint64_t) (rnd() * 10000.0);
        run.settle_us = 5000000;
        simulate(jb, pk, n, 1700, FRAME_US, (uint64_t) (n * FRAME_US / (1.0 + ppm * 1e-6)) + 300000, &run);
        jb_get_stats(jb, &s);
        printf("# %+.0f ppm: frames %u missing %u dropped %" PRIu64 " inserted %" PRIu64 " underruns %" PRIu64
               " correction %+" PRId64 " ms, drift estimate %+d ppm, target %u..%u, delay max %u, buffered max %u ms\n",
               ppm, run.frames, run.missing, s.dropped, s.inserted, s.underruns, s.drift_correction_ms,
               s.drift_ppm, run.target_min, run.target_max, run.delay_max, run.buffered_max);
        check(check_order(&run, &gaps) == 0);
        check(s.lost == 0 && s.late == 0, "lost %" PRIu64 " late %" PRIu64, s.lost, s.late);
        check(run.delay_max <= run.target_max + 2 * FRAME_MS, "delay max %u target %u", run.delay_max,
              run.target_max);
        check(run.buffered_max <= run.target_max + 3 * FRAME_MS, "buffered max %u", run.buffered_max);
        /* 60 s at ppm is 0.06 * ppm ms to correct; no more than a few frames either way. */
        if (ppm >= 1000)
                check(s.dropped >= 2 && s.drift_correction_ms < 0, "dropped %" PRIu64, s.dropped);
        if (ppm <= -1000)
                check(s.inserted + s.underruns >= 2, "inserted %" PRIu64, s.inserted);
        check(s.dropped + s.inserted <= 10 + (unsigned) (fabs(ppm) * 0.06 / FRAME_MS),
              "corrections %" PRIu64, s.dropped + s.inserted);
        check(gaps <= s.dropped, "gaps %u", gaps);
        check(fabs(s.drift_ppm - ppm) <= 20, "drift estimate %d ppm", s.drift_ppm);
        tap_end();
}

static void test_overflow(void) {
        JitterConfig c;
        _cleanup_(jb_freep) JitterBuffer *jb = NULL;
        JitterStats s;
        uint8_t big[JB_PAYLOAD_MAX + 1] = {};
        int r;

        tap_begin("/jitter/memory-bound");
        jb_config_init(&c);
        c.max_packets = 16;
        check(jb_new(&c, RATE, FRAME_MS, &jb) == 0);
        /* 1000 packets in one go (a flood), no consumer. */
        for (unsigned i = 0; i < 1000; i++) {
                uint32_t id = i;
                r = jb_put(jb, &(JitterPacket) { .ssrc = 1, .seq = (uint16_t) i, .ts = i * FRAME_TS,
                                                  .payload = &id, .size = sizeof(id) }, 1000 + i);
                check(r == 0, "put %u: %d", i, r);
        }
        jb_get_stats(jb, &s);
        check(s.packets <= 16, "packets %u", s.packets);
        check(s.overflows == 1000 - 16, "overflows %" PRIu64, s.overflows);
        check(jb_put(jb, &(JitterPacket) { .ssrc = 1, .seq = 1000, .payload = big, .size = sizeof(big) }, 2000) ==
              -EMSGSIZE);
        check(jb_new(&(JitterConfig) { .min_ms = 200, .max_ms = 100 }, RATE, FRAME_MS, &jb) == -EINVAL);
        check(jb_new(&(JitterConfig) { .max_packets = JB_PACKETS_MAX + 1 }, RATE, FRAME_MS, &jb) == -EINVAL);
        tap_end();
}

int main(void) {
        test_in_order();
        for (unsigned k = 1; k <= 3; k++)
                test_reorder(k);
        test_duplicate();
        test_late();
        test_burst_loss();
        test_seq_wrap();
        test_ts_wrap();
        test_ssrc_change();
        test_seq_jump();
        test_ts_jump();
        test_talk_spurts();
        test_network();
        test_drift(100);
        test_drift(-100);
        test_drift(1000);
        test_drift(-1000);
        test_overflow();
        return tap_finish();
}
