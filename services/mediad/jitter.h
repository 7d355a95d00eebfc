/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Adaptive jitter buffer for one received RTP stream (pure: no loop, no bus, no
 * threads, no clock of its own; the caller passes every time as microseconds of
 * one monotonic clock, e.g. CLOCK_MONOTONIC).
 *
 * Model: the network side pushes packets (jb_put, in arrival order), the audio
 * side pulls (jb_get) whenever it needs the next piece of audio: each jb_get
 * hands out exactly one "frame", which is one RTP packet, a gap to conceal, or
 * nothing to play, together with its duration in RTP timestamp units. The
 * caller decodes or conceals that duration and calls jb_get again when that
 * audio is (about to be) played. So the consumer's clock (the sound card, or a
 * timer when there is none) drives playout, and the buffer measures how far
 * playout is behind the sender and corrects it.
 *
 *   jb_new(&cfg, 8000, 20, &jb);
 *   on each RTP packet:   r = jb_put(jb, &(JitterPacket) { .ssrc, .seq, .ts, .marker,
 *                                      .payload, .size }, now_us);
 *                          (-EEXIST duplicate, -ESTALE too late, -EMSGSIZE: all
 *                           counted in the stats, nothing to log per packet)
 *   every ~frame:          switch (jb_get(jb, now_us, &f)) {
 *                          case JB_FRAME:   decode f.payload/f.size (f.duration samples)
 *                          case JB_MISSING: run PLC for f.duration samples (or the
 *                                           codec's own PLC, e.g. Opus with NULL)
 *                          case JB_EMPTY:   play f.duration samples of silence /
 *                                           comfort noise (not started yet, or the
 *                                           sender is silent between talk spurts;
 *                                           right after audio, a caller with PLC
 *                                           may conceal instead: it fades out
 *                                           within 60 ms, no click)
 *                          }
 *   Calling jb_get several times with the same now_us (filling a larger device
 *   period) is fine.
 *
 * Playout follows the RTP timestamp: play_ts is the timestamp of the audio due
 * next; a packet is played when its timestamp is there, a hole in front of the
 * next queued packet is concealed (JB_MISSING), and a packet whose time has
 * passed when it arrives is refused as late. Sequence numbers tell loss
 * (sequence numbers passed over) from sender silence (a timestamp gap with no
 * sequence gap).

 * Delay: "transit" of a packet = arrival time - its timestamp in µs. The buffer
 * keeps the base = minimum transit over a sliding window (two 4 s halves, so it
 * follows clock drift), and each packet's jitter j = transit - base (how much
 * later than the fastest packet it came). The playout delay of the frame now
 * being played is now - base - ts_us(frame): a packet arrives in time when
 * j <= that delay.
 *
 * Target delay (voice.jib.adaptive = 1), clamped to [min_ms, max_ms]:
 *   target = max(q, peak) + JB_MARGIN_MS, where
 *   - q is the JB_QUANTILE (98 %) quantile of j over a histogram (2 ms bins) whose
 *     weights decay exponentially with time constant JB_HISTORY_TAU_MS (10 s);
 *   - peak follows spikes at once: a packet with j > peak sets peak = j, then peak
 *     decays exponentially with half-life JB_PEAK_HALFLIFE_MS (4 s).
 *   It starts at normal_ms and does not go below it before JB_WARMUP_PACKETS
 *   packets have been seen (it may go above at once). With voice.jib.adaptive = 0
 *   the target is normal_ms, always (the corrections below still hold the delay
 *   there against drift).
 *
 * Reaching the target:
 *   - at the start of a talk spurt (first packet, RTP marker bit, a timestamp gap
 *     with no sequence gap = sender silence/DTX, after an underrun that emptied
 *     the buffer, SSRC change or resync) playout starts exactly when
 *     now >= base + ts_us + target: the natural place to adapt;
 *   - inside a continuous stream, at most one correction per
 *     JB_CORRECTION_INTERVAL_MS: a frame is dropped (delay too high by more than
 *     one frame: clock drift with a faster sender, or the target went down) or a
 *     concealed frame is inserted (delay below target by more than half a frame:
 *     slower sender, or the target went up). Both are counted in the stats
 *     (dropped, inserted, drift_correction_ms);
 *   - when nothing is queued (underrun) JB_MISSING is returned; below the target
 *     without moving on, so the delay grows by that frame at once and the late
 *     packet is still played (counted in underruns and drift_correction_ms); at
 *     or above the target playout moves on (the packet is lost or late). After
 *     JB_UNDERRUN_IDLE_MS of underrun the buffer goes idle (JB_EMPTY) and waits
 *     for the next talk spurt.
 *
 * Clock drift shows as a trend of the minimum transit: stats.drift_ppm is that
 * slope, and the drop/insert corrections above keep the delay at the target
 * whatever its sign (one 20 ms frame per 200 s at 100 ppm).
 *
 * Sequence numbers (16 bit) and timestamps (32 bit) are unwrapped to 64 bit
 * internally, so wrap-around is invisible. A packet whose sequence number jumps
 * by more than JB_MAX_DROPOUT ahead or JB_MAX_MISORDER behind is refused (-ESTALE,
 * counted in stats.bad_seq) unless the next packet continues from it, which
 * restarts the stream (as RFC 3550 A.1). A transit that differs from the base by
 * more than JB_RESYNC_MS (sender reset its timestamp clock) restarts it too. A
 * new SSRC restarts at once. A restart flushes what is queued and counts
 * stats.resyncs.
 *
 * Memory: everything is allocated in jb_new (max_packets slots of
 * JB_PAYLOAD_MAX bytes). A packet that does not fit the window (more than
 * max_packets ahead of the playout point) makes room by dropping the oldest
 * queued packets (stats.overflows); a peer cannot make us allocate anything.
 *
 * Not thread-safe: use it from one thread (mediad: the event loop thread; the
 * decoded PCM then goes to the audio thread through its ring).
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define JB_PAYLOAD_MAX            1500U /* bytes of RTP payload per packet; larger: -EMSGSIZE */
#define JB_PACKETS_MAX            512U  /* upper bound of max_packets */
#define JB_DELAY_MAX_MS           1000U /* upper bound of min/max/normal */
#define JB_QUANTILE               0.98
#define JB_MARGIN_MS              4U
#define JB_HISTORY_TAU_MS         10000U
#define JB_PEAK_HALFLIFE_MS       4000U
#define JB_CORRECTION_INTERVAL_MS 500U
#define JB_UNDERRUN_IDLE_MS       120U
#define JB_WARMUP_PACKETS         50U
#define JB_DRIFT_MIN_SPAN_MS      20000U
#define JB_MAX_DROPOUT            3000U
#define JB_MAX_MISORDER           100U
#define JB_RESYNC_MS              2000U

typedef struct JitterConfig {
        bool adaptive;        /* voice.jib.adaptive */
        unsigned min_ms;      /* voice.jib.min */
        unsigned max_ms;      /* voice.jib.max */
        unsigned normal_ms;   /* voice.jib.normal: start value (adaptive) or the fixed delay */
        unsigned max_packets; /* 0: enough for max_ms at frame_ms, twice, plus reordering
                               * headroom (2 * max_ms / frame_ms + 16, at most JB_PACKETS_MAX) */
} JitterConfig;

/* Fill *c with the Yealink defaults (adaptive, 0, 300, 120) and max_packets 0. */
void jb_config_init(JitterConfig *c);

typedef struct JitterPacket {
        uint32_t ssrc;
        uint16_t seq;
        uint32_t ts;
        bool marker;          /* RTP M bit: start of a talk spurt for audio */
        const void *payload;  /* copied by jb_put */
        size_t size;          /* 0..JB_PAYLOAD_MAX */
} JitterPacket;

typedef enum JitterResult {
        JB_FRAME,   /* a packet: decode frame.payload, frame.size */
        JB_MISSING, /* conceal frame.duration samples (lost, late, underrun or an inserted frame) */
        JB_EMPTY,   /* nothing to play (not started / between talk spurts): frame.duration of silence */
} JitterResult;

typedef struct JitterFrame {
        const uint8_t *payload; /* JB_FRAME only: valid until the next jb_* call on this buffer */
        size_t size;
        uint16_t seq;           /* JB_FRAME only */
        uint32_t ts;            /* RTP timestamp of the frame (for JB_MISSING: where the gap is) */
        uint32_t duration;      /* in timestamp units (samples at clock_rate), > 0 */
        bool marker;            /* JB_FRAME: the packet had the M bit */
        bool after_drop;        /* JB_FRAME: a frame was dropped just before this one
                                 * (drift correction): the caller may cross-fade */
} JitterFrame;

typedef struct JitterStats {
        uint64_t received;    /* accepted packets (not duplicates, not refused) */
        uint64_t late;        /* arrived after their playout time (played as MISSING; refused) */
        uint64_t duplicate;   /* same sequence number already queued or played */
        uint64_t reordered;   /* arrived after a packet with a higher sequence number, in time */
        uint64_t lost;        /* sequence numbers passed over by playout without their packet
                               * (includes those that then came late: network loss is
                               * lost - late) */
        uint64_t underruns;   /* JB_MISSING because nothing at all was queued */
        uint64_t overflows;   /* packets dropped because a newer one did not fit the window */
        uint64_t dropped;     /* frames dropped to lower the delay (drift / target) */
        uint64_t inserted;    /* concealed frames inserted to raise the delay (drift / target) */
        uint64_t bad_seq;     /* refused: sequence number far out of the window */
        uint64_t too_big;     /* refused: payload larger than JB_PAYLOAD_MAX */
        uint64_t resyncs;     /* restarts: SSRC change, timestamp jump, sequence jump */
        int64_t drift_correction_ms; /* net delay change by corrections, ms: + for inserted
                                      * frames and underruns that held playout, - for drops */
        int drift_ppm;               /* sender clock relative to ours (+: sender fast), from the
                                      * trend of the minimum transit over >= JB_DRIFT_MIN_SPAN_MS;
                                      * 0 until known */
        unsigned current_delay_ms;   /* playout delay of the last frame handed out (see above) */
        unsigned target_delay_ms;
        unsigned jitter_ms;          /* the JB_QUANTILE quantile of j: observed jitter */
        unsigned buffered_ms;        /* audio queued ahead of the playout point */
        unsigned packets;            /* packets queued now */
} JitterStats;

typedef struct JitterBuffer JitterBuffer;

/* clock_rate: RTP clock in Hz (8000..192000); frame_ms: the expected packet time
 * (ptime, 5..200) used until packets show their own. min <= normal <= max <=
 * JB_DELAY_MAX_MS are enforced by clamping (normal into [min, max]; min > max: -EINVAL).
 * Returns 0, -EINVAL, -ENOMEM. */
int jb_new(const JitterConfig *config, unsigned clock_rate, unsigned frame_ms, JitterBuffer **ret);
JitterBuffer *jb_free(JitterBuffer *jb);
DEFINE_TRIVIAL_CLEANUP_FUNC(JitterBuffer *, jb_free);

/* Change min/max/normal/adaptive at run time (voice.jib.* changed); max_packets is
 * kept (the slots are not reallocated). Returns 0 or -EINVAL. */
int jb_set_config(JitterBuffer *jb, const JitterConfig *config);

/* Queue a packet that arrived at arrival_us. Returns 0, -EEXIST (duplicate),
 * -ESTALE (too late or sequence far out of the window), -EMSGSIZE (payload larger
 * than JB_PAYLOAD_MAX). Every outcome is counted in the stats. */
int jb_put(JitterBuffer *jb, const JitterPacket *packet, uint64_t arrival_us);

/* The next frame to play at now_us; *ret is always written. Never fails. */
JitterResult jb_get(JitterBuffer *jb, uint64_t now_us, JitterFrame *ret);

/* Drop everything queued and start over (e.g. Stream.Update to a new peer);
 * statistics are kept, the target delay goes back to normal_ms. */
void jb_reset(JitterBuffer *jb);

void jb_get_stats(const JitterBuffer *jb, JitterStats *ret);

const char *jitter_result_to_string(JitterResult r);
