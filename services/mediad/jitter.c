/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>

#include "jitter.h"

/* How the delay is estimated and corrected is described in jitter.h. */

#define HIST_BIN_MS 2U
#define HIST_BINS (JB_DELAY_MAX_MS / HIST_BIN_MS + 1U) /* the last bin collects everything above */
#define BASE_WINDOW_US (4U * 1000000U)
#define SEQ_ORIGIN ((int64_t) 1 << 32) /* extended sequence numbers start here: always positive */

typedef struct Slot {
        bool used;
        bool marker;
        int64_t seq; /* extended */
        int64_t ts;  /* extended */
        size_t size;
        uint8_t *data;
} Slot;

typedef enum PlayState {
        PLAY_IDLE,    /* waiting for a talk spurt's first packet to be due */
        PLAY_RUNNING,
} PlayState;

struct JitterBuffer {
        JitterConfig config;
        unsigned clock_rate;
        unsigned max_packets;
        uint32_t frame_ts;  /* packet duration in timestamp units, as last seen */
        Slot *slots;
        uint8_t *payloads;
        unsigned n_packets;

        /* The source. */
        bool have_source;
        uint32_t ssrc;
        int64_t max_seq;    /* highest extended sequence number accepted */
        int64_t ref_ts;     /* its extended timestamp: reference for unwrapping */
        bool probation;
        uint16_t probation_seq;

        /* Delay estimation. */
        bool have_base;
        int64_t win_min[2]; /* minimum transit, current and previous window */
        uint64_t win_start_us;
        bool have_drift_origin;
        int64_t drift_origin_min;  /* first full window's minimum transit, and its time */
        uint64_t drift_origin_us;
        int drift_ppm;
        double hist[HIST_BINS];
        double hist_total;
        unsigned hist_samples; /* counted up to JB_WARMUP_PACKETS */
        uint64_t hist_origin_us;
        double peak_ms;
        uint64_t peak_us;
        unsigned target_ms;
        unsigned jitter_ms;

        /* Playout. */
        PlayState state;
        bool have_history;  /* next_seq/play_ts are meaningful */
        int64_t next_seq;
        int64_t play_ts;
        uint64_t played_mask; /* bit i: next_seq - 1 - i was played */
        uint64_t underrun_ts; /* timestamp units handed out as underrun in a row */
        uint64_t last_correction_us;
        int64_t current_delay_us;

        JitterStats stats;
};

const char *jitter_result_to_string(JitterResult r) {
        switch (r) {
        case JB_FRAME:
                return "frame";
        case JB_MISSING:
                return "missing";
        case JB_EMPTY:
                return "empty";
        }
        return NULL;
}

void jb_config_init(JitterConfig *c) {
        *c = (JitterConfig) {
                .adaptive = true,
                .min_ms = 0,
                .max_ms = 300,
                .normal_ms = 120,
        };
}

static int config_check(const JitterConfig *c, JitterConfig *ret) {
        JitterConfig n = *c;

        if (n.min_ms > n.max_ms || n.max_ms > JB_DELAY_MAX_MS)
                return -EINVAL;
        n.normal_ms = MAX(n.min_ms, MIN(n.normal_ms, n.max_ms));
        *ret = n;
        return 0;
}

static unsigned default_max_packets(const JitterConfig *c, unsigned frame_ms) {
        unsigned n = 2 * c->max_ms / frame_ms + 16;
        return MIN(n, JB_PACKETS_MAX);
}

int jb_new(const JitterConfig *config, unsigned clock_rate, unsigned frame_ms, JitterBuffer **ret) {
        _cleanup_(jb_freep) JitterBuffer *jb = NULL;
        JitterConfig c;
        int r;

        if (clock_rate < 8000 || clock_rate > 192000 || frame_ms < 5 || frame_ms > 200)
                return -EINVAL;
        if (config->max_packets > JB_PACKETS_MAX)
                return -EINVAL;
        r = config_check(config, &c);
        if (r < 0)
                return r;

        jb = calloc(1, sizeof(*jb));
        if (!jb)
                return -ENOMEM;
        jb->config = c;
        jb->clock_rate = clock_rate;
        jb->max_packets = c.max_packets > 0 ? c.max_packets : default_max_packets(&c, frame_ms);
        jb->max_packets = MAX(jb->max_packets, 4U);
        jb->frame_ts = clock_rate * frame_ms / 1000;
        jb->slots = calloc(jb->max_packets, sizeof(Slot));
        jb->payloads = malloc((size_t) jb->max_packets * JB_PAYLOAD_MAX);
        if (!jb->slots || !jb->payloads)
                return -ENOMEM;
        for (unsigned i = 0; i < jb->max_packets; i++)
                jb->slots[i].data = jb->payloads + (size_t) i * JB_PAYLOAD_MAX;
        jb_reset(jb);
        *ret = TAKE_PTR(jb);
        return 0;
}

JitterBuffer *jb_free(JitterBuffer *jb) {
        if (!jb)
                return NULL;
        free(jb->payloads);
        free(jb->slots);
        free(jb);
        return NULL;
}

int jb_set_config(JitterBuffer *jb, const JitterConfig *config) {
        JitterConfig c;
        int r;

        r = config_check(config, &c);
        if (r < 0)
                return r;
        c.max_packets = jb->config.max_packets;
        jb->config = c;
        if (!c.adaptive)
                jb->target_ms = c.normal_ms;
        else
                jb->target_ms = MAX(c.min_ms, MIN(jb->target_ms, c.max_ms));
        return 0;
}

/* --- time and numbers --- */

static int64_t ts_to_us(const JitterBuffer *jb, int64_t ts) {
        return ts * 1000000 / (int64_t) jb->clock_rate;
}

static unsigned ts_to_ms(const JitterBuffer *jb, int64_t ts) {
        return ts <= 0 ? 0 : (unsigned) (ts * 1000 / jb->clock_rate);
}

static int64_t unwrap_seq(int64_t ref, uint16_t seq) {
        return ref + (int16_t) (uint16_t) (seq - (uint16_t) ref);
}

static int64_t unwrap_ts(int64_t ref, uint32_t ts) {
        return ref + (int32_t) (uint32_t) (ts - (uint32_t) ref);
}

/* --- slots --- */

static Slot *slot_of(JitterBuffer *jb, int64_t seq) {
        return &jb->slots[(uint64_t) seq % jb->max_packets];
}

static Slot *slot_find(JitterBuffer *jb, int64_t seq) {
        Slot *s = slot_of(jb, seq);
        return s->used && s->seq == seq ? s : NULL;
}

static void slot_release(JitterBuffer *jb, Slot *s) {
        s->used = false;
        jb->n_packets--;
}

static void flush(JitterBuffer *jb) {
        for (unsigned i = 0; i < jb->max_packets; i++)
                jb->slots[i].used = false;
        jb->n_packets = 0;
}

/* The queued packet with the lowest sequence number at or above from, or NULL. */
static Slot *lowest_queued(JitterBuffer *jb, int64_t from) {
        if (jb->n_packets == 0)
                return NULL;
        from = MAX(from, jb->max_seq - (int64_t) jb->max_packets + 1);
        for (int64_t seq = from; seq <= jb->max_seq; seq++) {
                Slot *s = slot_find(jb, seq);
                if (s)
                        return s;
        }
        return NULL;
}

/* --- delay estimation --- */

static void hist_add(JitterBuffer *jb, double j_ms, uint64_t now_us) {
        double w = exp((double) (now_us - jb->hist_origin_us) / (JB_HISTORY_TAU_MS * 1000.0));
        unsigned bin = (unsigned) MIN(j_ms / HIST_BIN_MS, (double) (HIST_BINS - 1));

        if (w > 1e12 || jb->hist_total == 0) {
                /* Rescale: move the origin to now. */
                double f = jb->hist_total == 0 ? 0 : 1.0 / w;
                for (unsigned i = 0; i < HIST_BINS; i++)
                        jb->hist[i] *= f;
                jb->hist_total *= f;
                jb->hist_origin_us = now_us;
                w = 1;
        }
        jb->hist[bin] += w;
        jb->hist_total += w;
}

static double hist_quantile_ms(const JitterBuffer *jb, double q) {
        double want = q * jb->hist_total, sum = 0;

        for (unsigned i = 0; i < HIST_BINS; i++) {
                sum += jb->hist[i];
                if (sum >= want)
                        return (i + 1) * (double) HIST_BIN_MS;
        }
        return JB_DELAY_MAX_MS;
}

/* Clock drift from the trend of the windows' minimum transit: a sender whose clock is
 * fast sends timestamps that run ahead of our time, so the transit goes down. */
static void update_drift(JitterBuffer *jb, int64_t window_min, uint64_t t_us) {
        if (!jb->have_drift_origin) {
                jb->have_drift_origin = true;
                jb->drift_origin_min = window_min;
                jb->drift_origin_us = t_us;
                return;
        }
        if (t_us - jb->drift_origin_us < JB_DRIFT_MIN_SPAN_MS * 1000ULL)
                return;
        jb->drift_ppm = (int) ((double) (jb->drift_origin_min - window_min) * 1e6 /
                               (double) (t_us - jb->drift_origin_us));
}

static void update_base(JitterBuffer *jb, int64_t transit, uint64_t now_us) {
        if (!jb->have_base || now_us - jb->win_start_us >= 2 * (uint64_t) BASE_WINDOW_US) {
                jb->win_min[0] = jb->win_min[1] = transit;
                jb->win_start_us = now_us;
                jb->have_base = true;
        } else if (now_us - jb->win_start_us >= BASE_WINDOW_US) {
                update_drift(jb, jb->win_min[0], jb->win_start_us + BASE_WINDOW_US / 2);
                jb->win_min[1] = jb->win_min[0];
                jb->win_min[0] = transit;
                jb->win_start_us = now_us;
        } else
                jb->win_min[0] = MIN(jb->win_min[0], transit);
}

static int64_t base_us(const JitterBuffer *jb) {
        return MIN(jb->win_min[0], jb->win_min[1]);
}

static void update_target(JitterBuffer *jb, int64_t transit, uint64_t now_us) {
        double j_ms = (double) (transit - base_us(jb)) / 1000.0, q, t;

        jb->peak_ms *= exp2(-(double) (now_us - jb->peak_us) / (JB_PEAK_HALFLIFE_MS * 1000.0));
        jb->peak_us = now_us;
        if (j_ms > jb->peak_ms)
                jb->peak_ms = MIN(j_ms, (double) JB_DELAY_MAX_MS);

        hist_add(jb, j_ms, now_us);
        q = hist_quantile_ms(jb, JB_QUANTILE);
        jb->jitter_ms = (unsigned) q;
        if (!jb->config.adaptive)
                return;
        t = MAX(q, jb->peak_ms) + JB_MARGIN_MS;
        if (jb->hist_samples < JB_WARMUP_PACKETS) {
                jb->hist_samples++;
                t = MAX(t, (double) jb->config.normal_ms);
        }
        jb->target_ms = (unsigned) MAX((double) jb->config.min_ms, MIN(t, (double) jb->config.max_ms));
}

/* --- source and resynchronisation --- */

static void restart(JitterBuffer *jb, const JitterPacket *p) {
        if (jb->have_source)
                jb->stats.resyncs++;
        flush(jb);
        jb->have_source = true;
        jb->ssrc = p->ssrc;
        jb->max_seq = SEQ_ORIGIN + p->seq;
        jb->ref_ts = p->ts;
        jb->probation = false;
        jb->have_base = false;
        jb->have_drift_origin = false;
        jb->state = PLAY_IDLE;
        jb->have_history = false;
        jb->played_mask = 0;
        jb->underrun_ts = 0;
}

void jb_reset(JitterBuffer *jb) {
        flush(jb);
        jb->have_source = false;
        jb->have_base = false;
        memset(jb->hist, 0, sizeof(jb->hist));
        jb->hist_total = 0;
        jb->hist_samples = 0;
        jb->peak_ms = 0;
        jb->target_ms = jb->config.normal_ms;
        jb->jitter_ms = 0;
        jb->state = PLAY_IDLE;
        jb->have_history = false;
        jb->played_mask = 0;
        jb->underrun_ts = 0;
        jb->current_delay_us = 0;
}

/* RFC 3550 A.1 in spirit: a far jump is believed when the next packet follows it.
 * Returns 0 to go on with *ret_seq, -ESTALE to refuse the packet. */
static int check_sequence(JitterBuffer *jb, const JitterPacket *p, int64_t *ret_seq) {
        int64_t seq = unwrap_seq(jb->max_seq, p->seq), delta = seq - jb->max_seq;

        if (delta <= (int64_t) JB_MAX_DROPOUT && delta >= -(int64_t) JB_MAX_MISORDER) {
                jb->probation = false;
                *ret_seq = seq;
                return 0;
        }
        if (jb->probation && p->seq == jb->probation_seq) {
                restart(jb, p);
                *ret_seq = jb->max_seq;
                return 0;
        }
        jb->probation = true;
        jb->probation_seq = p->seq + 1;
        jb->stats.bad_seq++;
        return -ESTALE;
}

static bool was_played(const JitterBuffer *jb, int64_t seq) {
        int64_t back = jb->next_seq - 1 - seq;
        return back >= 0 && back < 64 && (jb->played_mask >> back) & 1;
}

/* Make room for seq when it is beyond the window: whatever is too old to share the
 * window with it goes (counted as overflows), and playout restarts from the oldest
 * packet left, at the target delay. */
static void make_room(JitterBuffer *jb, int64_t seq) {
        int64_t low = seq - (int64_t) jb->max_packets + 1; /* lowest sequence number that can stay */
        int64_t from = MAX(jb->have_history ? jb->next_seq : INT64_MIN / 2,
                           jb->max_seq - (int64_t) jb->max_packets + 1);

        if (from >= low)
                return;
        for (int64_t s = from; s < MIN(low, jb->max_seq + 1); s++) {
                Slot *slot = slot_find(jb, s);
                if (slot) {
                        slot_release(jb, slot);
                        jb->stats.overflows++;
                }
        }
        if (jb->have_history && jb->next_seq < low) {
                jb->next_seq = low;
                jb->played_mask = 0;
                jb->state = PLAY_IDLE;
        }
}

static void learn_duration(JitterBuffer *jb, const Slot *s) {
        const Slot *prev = slot_find(jb, s->seq - 1), *next = slot_find(jb, s->seq + 1);
        int64_t d = -1;

        if (prev)
                d = s->ts - prev->ts;
        else if (next)
                d = next->ts - s->ts;
        if (d > 0 && d <= (int64_t) jb->clock_rate / 5)
                jb->frame_ts = (uint32_t) d;
}

static bool is_late(const JitterBuffer *jb, int64_t seq, int64_t ts) {
        if (!jb->have_history)
                return jb->max_seq - seq >= (int64_t) jb->max_packets; /* out of the window */
        return seq < jb->next_seq || ts + (int64_t) jb->frame_ts <= jb->play_ts;
}

static void store(JitterBuffer *jb, const JitterPacket *p, int64_t seq, int64_t ts) {
        Slot *s;

        make_room(jb, seq);
        if (seq < jb->max_seq)
                jb->stats.reordered++;
        else {
                jb->max_seq = seq;
                jb->ref_ts = ts;
        }

        s = slot_of(jb, seq);
        if (s->used)
                slot_release(jb, s); /* cannot happen after make_room, but never leak a count */
        s->used = true;
        s->seq = seq;
        s->ts = ts;
        s->marker = p->marker;
        s->size = p->size;
        if (p->size > 0)
                memcpy(s->data, p->payload, p->size);
        jb->n_packets++;
        jb->stats.received++;
        learn_duration(jb, s);
}

int jb_put(JitterBuffer *jb, const JitterPacket *p, uint64_t arrival_us) {
        int64_t seq, ts, transit;
        int r;

        if (p->size > JB_PAYLOAD_MAX) {
                jb->stats.too_big++;
                return -EMSGSIZE;
        }
        if (!jb->have_source || p->ssrc != jb->ssrc)
                restart(jb, p);

        r = check_sequence(jb, p, &seq);
        if (r < 0)
                return r;

        ts = unwrap_ts(jb->ref_ts, p->ts);
        transit = (int64_t) arrival_us - ts_to_us(jb, ts);
        if (jb->have_base && llabs(transit - base_us(jb)) > (int64_t) JB_RESYNC_MS * 1000) {
                /* The sender's timestamps jumped (or a delay spike beyond reason). */
                restart(jb, p);
                seq = jb->max_seq;
                ts = jb->ref_ts;
                transit = (int64_t) arrival_us - ts_to_us(jb, ts);
        }

        if ((jb->have_history && was_played(jb, seq)) || slot_find(jb, seq)) {
                jb->stats.duplicate++;
                return -EEXIST;
        }

        update_base(jb, transit, arrival_us);
        update_target(jb, transit, arrival_us);

        if (is_late(jb, seq, ts)) {
                jb->stats.late++;
                return -ESTALE;
        }
        store(jb, p, seq, ts);
        return 0;
}

/* --- playout --- */

/* Move next_seq to to_seq; the sequence numbers passed over were not played (lost),
 * except to_seq - 1 when played is set. */
static void advance(JitterBuffer *jb, int64_t to_seq, bool played) {
        int64_t k = to_seq - jb->next_seq;

        if (k <= 0)
                return;
        jb->stats.lost += (uint64_t) (k - played);
        jb->played_mask = k >= 64 ? 0 : jb->played_mask << k;
        if (played)
                jb->played_mask |= 1;
        jb->next_seq = to_seq;
}

/* Idle: start the first queued packet when it is due (base + ts + target). */
static bool try_start(JitterBuffer *jb, uint64_t now_us) {
        Slot *s = lowest_queued(jb, jb->have_history ? jb->next_seq : INT64_MIN / 2);
        int64_t due;

        if (!s || !jb->have_base)
                return false;
        due = base_us(jb) + ts_to_us(jb, s->ts) + (int64_t) jb->target_ms * 1000;
        if ((int64_t) now_us < due)
                return false;

        if (jb->have_history)
                advance(jb, s->seq, false);
        jb->next_seq = s->seq;
        jb->play_ts = s->ts;
        jb->have_history = true;
        jb->state = PLAY_RUNNING;
        jb->underrun_ts = 0;
        jb->last_correction_us = now_us;
        return true;
}

static uint32_t slot_duration(JitterBuffer *jb, const Slot *s) {
        const Slot *next = slot_find(jb, s->seq + 1);
        int64_t d = next ? next->ts - s->ts : 0;

        return d > 0 && d <= (int64_t) jb->clock_rate / 5 ? (uint32_t) d : jb->frame_ts;
}

static JitterResult hand_out(JitterBuffer *jb, Slot *s, bool after_drop, JitterFrame *ret) {
        uint32_t d = slot_duration(jb, s);

        *ret = (JitterFrame) {
                .payload = s->data,
                .size = s->size,
                .seq = (uint16_t) s->seq,
                .ts = (uint32_t) s->ts,
                .duration = d,
                .marker = s->marker,
                .after_drop = after_drop,
        };
        jb->play_ts = s->ts + d;
        advance(jb, s->seq + 1, true);
        slot_release(jb, s); /* the data stays untouched until the next jb_put */
        jb->underrun_ts = 0;
        return JB_FRAME;
}

/* Conceal duration at play_ts; advance: move play_ts past it. */
static JitterResult missing(JitterBuffer *jb, uint32_t duration, bool advance_ts, JitterFrame *ret) {
        *ret = (JitterFrame) {
                .ts = (uint32_t) jb->play_ts,
                .duration = duration,
        };
        if (advance_ts)
                jb->play_ts += duration;
        return JB_MISSING;
}

static bool correction_allowed(const JitterBuffer *jb, uint64_t now_us) {
        return now_us - jb->last_correction_us >= JB_CORRECTION_INTERVAL_MS * 1000ULL;
}

static int64_t target_us(const JitterBuffer *jb) {
        return (int64_t) jb->target_ms * 1000;
}

/* Too much delay: play s's successor instead of s, if it is there and follows on. */
static Slot *maybe_drop(JitterBuffer *jb, Slot *s, uint64_t now_us) {
        int64_t frame_us = ts_to_us(jb, jb->frame_ts);
        Slot *next;

        if (!correction_allowed(jb, now_us) || jb->current_delay_us <= target_us(jb) + frame_us)
                return NULL;
        next = slot_find(jb, s->seq + 1);
        if (!next || next->ts - s->ts != (int64_t) jb->frame_ts)
                return NULL;
        advance(jb, s->seq + 1, true);
        slot_release(jb, s);
        jb->stats.dropped++;
        jb->stats.drift_correction_ms -= ts_to_ms(jb, jb->frame_ts);
        jb->last_correction_us = now_us;
        return next;
}

static bool want_insert(JitterBuffer *jb, uint64_t now_us) {
        int64_t frame_us = ts_to_us(jb, jb->frame_ts);

        if (!correction_allowed(jb, now_us) || jb->current_delay_us >= target_us(jb) - frame_us / 2)
                return false;
        jb->stats.inserted++;
        jb->stats.drift_correction_ms += ts_to_ms(jb, jb->frame_ts);
        jb->last_correction_us = now_us;
        return true;
}

/* Nothing queued: conceal. Below the target the delay grows by this frame (play_ts
 * stays); at or above it the packet is taken as lost or late and playout moves on.
 * After JB_UNDERRUN_IDLE_MS the talk spurt is over: idle. */
static JitterResult underrun(JitterBuffer *jb, JitterFrame *ret) {
        jb->underrun_ts += jb->frame_ts;
        if (jb->underrun_ts > (uint64_t) jb->clock_rate * JB_UNDERRUN_IDLE_MS / 1000) {
                jb->state = PLAY_IDLE;
                return JB_EMPTY;
        }
        jb->stats.underruns++;
        if (jb->current_delay_us >= target_us(jb))
                return missing(jb, jb->frame_ts, true, ret);
        jb->stats.drift_correction_ms += ts_to_ms(jb, jb->frame_ts);
        return missing(jb, jb->frame_ts, false, ret);
}

static JitterResult get_running(JitterBuffer *jb, uint64_t now_us, JitterFrame *ret) {
        int64_t half = jb->frame_ts / 2;
        Slot *s, *next;

        jb->current_delay_us = (int64_t) now_us - base_us(jb) - ts_to_us(jb, jb->play_ts);
        s = lowest_queued(jb, jb->next_seq);

        /* Queued, but its time has passed (only when the sender's timestamps overlap). */
        while (s && s->ts < jb->play_ts - half) {
                advance(jb, s->seq + 1, false);
                slot_release(jb, s);
                jb->stats.late++;
                s = lowest_queued(jb, jb->next_seq);
        }

        /* The sender paused (timestamp gap, no sequence gap) or marked a new talk
         * spurt: schedule it afresh at the target delay. */
        if (s && s->seq == jb->next_seq && (s->ts > jb->play_ts + half || s->marker)) {
                jb->state = PLAY_IDLE;
                if (!try_start(jb, now_us))
                        return JB_EMPTY;
                s->marker = false;
                return get_running(jb, now_us, ret);
        }

        if (want_insert(jb, now_us))
                return missing(jb, jb->frame_ts, false, ret);
        if (!s)
                return underrun(jb, ret);

        jb->underrun_ts = 0;
        if (s->ts > jb->play_ts + half) /* a hole: packets before s are missing */
                return missing(jb, (uint32_t) MIN(s->ts - jb->play_ts, (int64_t) jb->frame_ts), true, ret);

        next = maybe_drop(jb, s, now_us);
        return hand_out(jb, next ?: s, !!next, ret);
}

JitterResult jb_get(JitterBuffer *jb, uint64_t now_us, JitterFrame *ret) {
        JitterResult r;

        *ret = (JitterFrame) {
                .ts = (uint32_t) jb->play_ts,
                .duration = jb->frame_ts,
        };
        if (jb->state == PLAY_IDLE && !try_start(jb, now_us))
                return JB_EMPTY;
        r = get_running(jb, now_us, ret);
        if (r == JB_EMPTY)
                *ret = (JitterFrame) {
                        .ts = (uint32_t) jb->play_ts,
                        .duration = jb->frame_ts,
                };
        return r;
}

void jb_get_stats(const JitterBuffer *jb, JitterStats *ret) {
        JitterStats s = jb->stats;
        const Slot *newest = NULL;

        s.target_delay_ms = jb->target_ms;
        s.jitter_ms = jb->jitter_ms;
        s.drift_ppm = jb->drift_ppm;
        s.current_delay_ms = jb->current_delay_us > 0 ? (unsigned) (jb->current_delay_us / 1000) : 0;
        s.packets = jb->n_packets;
        if (jb->n_packets > 0)
                newest = jb->slots[(uint64_t) jb->max_seq % jb->max_packets].used ?
                        &jb->slots[(uint64_t) jb->max_seq % jb->max_packets] : NULL;
        if (newest && newest->seq == jb->max_seq && jb->have_history)
                s.buffered_ms = ts_to_ms(jb, newest->ts + jb->frame_ts - jb->play_ts);
        else
                s.buffered_ms = 0;
        *ret = s;
}
