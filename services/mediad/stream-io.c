/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stream's packets: RTP out every packet time (driven by the audio clock
 * through stream_capture), RTP in (jitter buffer, RFC 4733 events), RTCP
 * reports both ways, and the statistics published as properties once a second.
 *
 * While the audio thread runs, the RTP socket is not watched: the loop reads
 * what came (recvmmsg) once per audio period, when it wakes for the captured
 * frames anyway (manager.c, on_frames). A packet is played at a period's
 * start at the earliest, so this delays nothing that is heard, and the
 * kernel's receive time stamps keep the arrival times (jitter statistics, the
 * jitter buffer's delay) exact. It halves the loop's wake-ups in a call.
 * Without the audio thread (it failed to start) the socket is watched.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"
#include "mediad.h"
#include "quality.h"
#include "util.h"

#define RECV_BATCH 4                    /* datagrams per recvmmsg: one packet time has one or two */
#define RECV_POLL_MAX 64                /* datagrams per poll, so one socket cannot starve the loop */
#define ARRIVAL_AGE_MAX_USEC (1000 * 1000)
#define STATS_INTERVAL_USEC (1000 * 1000)
#define RTP_DSCP_EF 0xB8                /* DSCP 46 (expedited forwarding) in the TOS byte */

static uint64_t realtime_usec(void) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        return (uint64_t) t.tv_sec * 1000000 + (uint64_t) t.tv_nsec / 1000;
}

/* ---- local address ---- */

static bool is_wildcard(const char *a) {
        return !a || streq(a, "0.0.0.0") || streq(a, "::");
}

/* The address for c=: the bound one, or the first non-loopback address that is up. */
int stream_local_address(Stream *s, const char *bind) {
        struct ifaddrs *list = NULL;
        char buf[INET6_ADDRSTRLEN] = "";

        if (!is_wildcard(bind)) {
                s->local_address = strdup(bind);
                return s->local_address ? 0 : -ENOMEM;
        }
        if (getifaddrs(&list) >= 0) {
                for (struct ifaddrs *i = list; i && !buf[0]; i = i->ifa_next) {
                        if (!i->ifa_addr || i->ifa_addr->sa_family != s->family || !(i->ifa_flags & IFF_UP) ||
                            (i->ifa_flags & IFF_LOOPBACK))
                                continue;
                        const void *a = s->family == AF_INET
                                                ? (const void *) &((struct sockaddr_in *) i->ifa_addr)->sin_addr
                                                : (const void *) &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr;
                        if (s->family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *) a))
                                continue;
                        inet_ntop(s->family, a, buf, sizeof(buf));
                }
                freeifaddrs(list);
        }
        s->local_address = strdup(buf[0] ? buf : s->family == AF_INET ? "127.0.0.1" : "::1");
        return s->local_address ? 0 : -ENOMEM;
}

/* ---- sending ---- */

static int send_rtp(Stream *s, uint8_t pt, bool marker, uint32_t ts, const uint8_t *payload, size_t size) {
        _Alignas(8) uint8_t buf[RTP_PACKET_MAX + SRTP_TRAILER_MAX];
        size_t len;
        RtpPacket p = { .marker = marker, .payload_type = pt, .seq = s->seq, .timestamp = ts, .ssrc = s->ssrc };

        int r = rtp_build(&p, payload, size, 0, buf, RTP_PACKET_MAX, &len);
        if (r < 0)
                return r;
        s->seq++;
        r = stream_srtp_protect(s, false, buf, &len, sizeof(buf));
        if (r < 0) /* never in the clear instead */
                return log_debug_errno(r, "Stream %u: SRTP protect failed, packet dropped: %m", s->id);
        if (sendto(s->rtp_fd, buf, len, MSG_DONTWAIT, (struct sockaddr *) &s->remote_rtp, s->remote_len) < 0) {
                /* ECONNREFUSED etc. from an earlier datagram: the peer is not up yet */
                log_debug_errno(errno, "Stream %u: sending RTP failed, ignoring: %m", s->id);
                return 0;
        }
        s->stats_sent_packets++;
        s->stats_sent_octets += size;
        s->sent_since_report = true;
        s->last_sent_ts = ts;
        return 0;
}

static bool sending(const Stream *s) {
        return s->state != STREAM_CREATED && s->state != STREAM_STOPPED &&
               (s->direction == STREAM_SENDRECV || s->direction == STREAM_SENDONLY);
}

static bool receiving(const Stream *s) {
        return s->state != STREAM_CREATED && s->state != STREAM_STOPPED &&
               (s->direction == STREAM_SENDRECV || s->direction == STREAM_RECVONLY);
}

static void send_voice(Stream *s, size_t n16k) {
        const CodecOps *c = s->codec->ops;
        int16_t pcm[AUDIO_RATE * STREAM_PTIME_MAX / 1000];
        uint8_t payload[CODEC_PAYLOAD_MAX];
        const int16_t *in = s->capture;
        size_t n = n16k;

        stream_dtmf_fill(s, s->capture, n16k);
        if (c->sample_rate != AUDIO_RATE) {
                (void) downsample2(&s->down, s->capture, n16k, pcm);
                in = pcm;
                n = n16k / 2;
        }
        int k = c->encode(s->codec->state, in, n, payload, sizeof(payload));
        if (k < 0) {
                log_debug_errno(k, "Stream %u: %s encoder failed, ignoring: %m", s->id, c->name);
                return;
        }
        (void) send_rtp(s, s->send_pt, s->marker_next, s->ts, payload, (size_t) k);
        s->marker_next = false;
}

/* One packet time of audio is ready: an RFC 4733 event, or voice. */
static void send_packet_time(Stream *s) {
        const CodecOps *c = s->codec->ops;
        uint32_t units = (uint32_t) ((uint64_t) c->clock_rate * s->send_ptime / 1000);
        DtmfPacket d;

        if (s->dtmf_send_pt && dtmf_sender_tick(&s->dtmf_tx, s->ts, units, c->clock_rate, &d) > 0) {
                (void) send_rtp(s, s->dtmf_send_pt, d.marker, d.timestamp, d.payload, sizeof(d.payload));
                s->marker_next = true;
        } else
                send_voice(s, s->capture_fill);
        s->ts += units;
}

void stream_capture(Stream *s, const int16_t *frame) {
        size_t need = (size_t) AUDIO_RATE * s->send_ptime / 1000;

        if (!s->codec || s->state == STREAM_CREATED || s->state == STREAM_STOPPED)
                return;
        memcpy(s->capture + s->capture_fill, frame, sizeof(int16_t) * AUDIO_FRAME);
        s->capture_fill += AUDIO_FRAME;
        if (s->capture_fill < need)
                return;
        if (sending(s))
                send_packet_time(s);
        else
                s->ts += (uint32_t) ((uint64_t) s->codec->ops->clock_rate * s->send_ptime / 1000);
        s->capture_fill = 0;
}

bool stream_playout(Stream *s, int16_t *frame) {
        if (!s->playout || !receiving(s))
                return false;
        playout_get(s->playout, frame, AUDIO_FRAME, now_usec());
        stream_dtmf_detect(s, frame, AUDIO_FRAME);
        return true;
}

/* ---- receiving RTP ---- */

static void dtmf_report(Stream *s, const DtmfEvent *e) {
        char digit[2] = { e->digit, 0 };
        const char *d = digit;
        uint32_t ms = (uint32_t) ((uint64_t) e->duration * 1000 / s->codec->ops->clock_rate);

        log_debug("Stream %u: a DTMF digit received (%u ms)", s->id, ms); /* digits may be PINs */
        int r = bus_emit_signal(s->manager->bus, s->path, MEDIA1_STREAM_IFACE, "DtmfReceived", DBUS_TYPE_STRING, &d,
                                DBUS_TYPE_UINT32, &ms, DBUS_TYPE_INVALID);
        if (r < 0)
                log_warning_errno(r, "Failed to send DtmfReceived, ignoring: %m");
}

static void receive_dtmf(Stream *s, const RtpPacket *p, uint64_t now) {
        DtmfEvent ev[2];

        int n = dtmf_receiver_packet(&s->dtmf_rx, p->timestamp, p->payload, p->payload_size, now, ev);
        for (int i = 0; i < n; i++)
                dtmf_report(s, &ev[i]);
}

/* A packet from an SSRC we do not follow yet: a new peer, or the same one restarted. */
static void new_source(Stream *s, const RtpPacket *p) {
        if (s->have_source) {
                s->ssrc_changes++;
                log_info("Stream %u: SSRC changed from %08x to %08x", s->id, s->source.ssrc, p->ssrc);
                if (s->playout)
                        playout_reset(s->playout);
                dtmf_receiver_init(&s->dtmf_rx);
        }
        rtp_source_init(&s->source, p->ssrc, p->seq);
        s->have_source = true;
}

static void receive_rtp(Stream *s, const uint8_t *buf, size_t len, uint64_t now) {
        RtpPacket p;

        if (rtp_parse(buf, len, &p) < 0) {
                s->invalid_packets++;
                return;
        }
        bool audio = p.payload_type == s->recv_pt || p.payload_type == s->send_pt;
        bool dtmf = p.payload_type && (p.payload_type == s->dtmf_recv_pt || p.payload_type == s->dtmf_send_pt);
        if (!audio && !dtmf) {
                s->invalid_packets++;
                return;
        }
        if (!s->have_source || p.ssrc != s->source.ssrc)
                new_source(s, &p);
        RtpSeqResult r = rtp_source_update(&s->source, p.seq);
        if (r == RTP_SEQ_PROBATION || r == RTP_SEQ_BAD)
                return;
        if (!receiving(s))
                return;
        if (dtmf && !audio) {
                receive_dtmf(s, &p, now);
                return;
        }
        uint32_t arrival = (uint32_t) (now * s->codec->ops->clock_rate / 1000000);
        rtp_source_jitter(&s->source, arrival, p.timestamp);
        playout_put(s->playout, p.ssrc, p.seq, p.timestamp, p.marker, p.payload, p.payload_size, now);
}

/* SRTP/SRTCP in place; false when the packet is to be dropped (counted). */
static bool unprotect(Stream *s, bool rtcp, uint8_t *buf, size_t *size) {
        int r = stream_srtp_unprotect(s, rtcp, buf, size);
        if (r == -EINVAL)
                s->invalid_packets++;
        return r >= 0;
}

static void receive_datagram(Stream *s, uint8_t *buf, size_t size, bool truncated, uint64_t arrival) {
        if (truncated || size > RTP_PACKET_MAX || !s->codec) {
                s->invalid_packets++;
                return;
        }
        if (unprotect(s, false, buf, &size))
                receive_rtp(s, buf, size, arrival);
}

/* Without the audio thread: one datagram per wake-up. The watch is level-triggered, so the
 * loop comes back at once if more are queued, and a packet costs one recv, not a second one
 * that fails with EAGAIN. Other sources get their turn between datagrams. */
static int on_rtp(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Stream *s = userdata;
        _Alignas(8) uint8_t buf[RTP_PACKET_MAX + 1];

        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_debug_errno(errno, "Stream %u: receiving RTP failed, ignoring: %m", s->id);
                return 0;
        }
        receive_datagram(s, buf, (size_t) n, false, now_usec());
        return 0;
}

/* The kernel's receive time (SO_TIMESTAMPNS, CLOCK_REALTIME) on our monotonic clock; now
 * when there is none or it makes no sense (the wall clock was set in between). */
static uint64_t arrival_usec(struct msghdr *h, uint64_t now, uint64_t now_real) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
                struct timespec t;
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS ||
                    c->cmsg_len < CMSG_LEN(sizeof(t)))
                        continue;
                memcpy(&t, CMSG_DATA(c), sizeof(t));
                uint64_t real = (uint64_t) t.tv_sec * 1000000 + (uint64_t) t.tv_nsec / 1000;
                if (real <= now_real && now_real - real < MIN(now, (uint64_t) ARRIVAL_AGE_MAX_USEC))
                        return now - (now_real - real);
        }
        return now;
}

/* One recvmmsg: at most RECV_BATCH datagrams; false when there may be more. */
static bool poll_batch(Stream *s) {
        _Alignas(8) uint8_t buf[RECV_BATCH][RTP_PACKET_MAX + 1];
        union {
                struct cmsghdr align;
                uint8_t data[CMSG_SPACE(sizeof(struct timespec))];
        } control[RECV_BATCH];
        struct iovec iov[RECV_BATCH];
        struct mmsghdr msg[RECV_BATCH];

        for (size_t i = 0; i < RECV_BATCH; i++) {
                iov[i] = (struct iovec) { .iov_base = buf[i], .iov_len = sizeof(buf[i]) };
                msg[i] = (struct mmsghdr) { .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1,
                                                         .msg_control = &control[i],
                                                         .msg_controllen = sizeof(control[i]) } };
        }
        int n = recvmmsg(s->rtp_fd, msg, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
                return true;
        uint64_t now = now_usec(), now_real = realtime_usec();
        for (int i = 0; i < n; i++)
                receive_datagram(s, buf[i], msg[i].msg_len, msg[i].msg_hdr.msg_flags & MSG_TRUNC,
                                 arrival_usec(&msg[i].msg_hdr, now, now_real));
        return n < RECV_BATCH;
}

void stream_io_poll(Stream *s) {
        if (s->rtp_fd < 0)
                return;
        for (unsigned i = 0; i < RECV_POLL_MAX / RECV_BATCH; i++)
                if (poll_batch(s))
                        break;
}

void stream_io_watch(Stream *s, bool watch) {
        if (!s->rtp_source)
                return;
        int r = sd_event_source_set_enabled(s->rtp_source, watch ? SD_EVENT_ON : SD_EVENT_OFF);
        if (r < 0)
                log_warning_errno(r, "Stream %u: cannot %s the RTP socket, ignoring: %m", s->id,
                                  watch ? "watch" : "stop watching");
}

/* ---- RTCP ---- */

static void send_report(Stream *s, bool bye) {
        _Alignas(8) uint8_t buf[RTCP_PACKET_MAX + SRTP_TRAILER_MAX];
        RtcpSenderInfo si = {};
        RtcpReportBlock b = {};
        size_t len;
        unsigned n = 0;

        if (s->sent_since_report) {
                si = (RtcpSenderInfo) {
                        .ntp = rtcp_ntp_from_unix_usec(realtime_usec()),
                        .rtp_timestamp = s->ts,
                        .packets = (uint32_t) s->stats_sent_packets,
                        .octets = (uint32_t) s->stats_sent_octets,
                };
        }
        if (s->have_source && !s->source.probation) {
                int64_t lost = rtp_source_lost(&s->source);
                b = (RtcpReportBlock) {
                        .ssrc = s->source.ssrc,
                        .fraction_lost = rtp_source_fraction_lost(&s->source),
                        .cumulative_lost = (int32_t) MAX(MIN(lost, 0x7FFFFF), -0x800000),
                        .extended_max_seq = rtp_source_extended_max(&s->source),
                        .jitter = rtp_source_jitter_units(&s->source),
                        .lsr = s->last_sr_middle,
                        .dlsr = s->last_sr_middle ? rtcp_dlsr_from_usec(now_usec() - s->last_sr_usec) : 0,
                };
                n = 1;
        }
        if (rtcp_build(s->ssrc, s->sent_since_report ? &si : NULL, &b, n, s->manager->cname, bye, buf,
                       RTCP_PACKET_MAX, &len) < 0)
                return;
        if (stream_srtp_protect(s, true, buf, &len, sizeof(buf)) < 0)
                return;
        s->sent_since_report = false;
        if (sendto(s->rtcp_fd, buf, len, MSG_DONTWAIT, (struct sockaddr *) &s->remote_rtcp, s->remote_len) < 0)
                log_debug_errno(errno, "Stream %u: sending RTCP failed, ignoring: %m", s->id);
}

static void receive_rtcp(Stream *s, const uint8_t *buf, size_t len) {
        RtcpCompound c;

        if (rtcp_parse(buf, len, &c) < 0) {
                s->invalid_packets++;
                return;
        }
        if (c.has_sr) {
                s->last_sr_middle = rtcp_ntp_middle(c.sr.ntp);
                s->last_sr_usec = now_usec();
        }
        for (unsigned i = 0; i < c.n_reports; i++) {
                uint32_t rtt;
                if (c.reports[i].ssrc != s->ssrc)
                        continue;
                s->remote_report = c.reports[i];
                s->have_remote_report = true;
                uint32_t arrival = rtcp_ntp_middle(rtcp_ntp_from_unix_usec(realtime_usec()));
                if (rtcp_round_trip_usec(arrival, c.reports[i].lsr, c.reports[i].dlsr, &rtt) >= 0) {
                        s->round_trip_usec = rtt;
                        s->have_round_trip = true;
                }
        }
        if (c.bye)
                log_info("Stream %u: the peer sent RTCP BYE", s->id);
}

/* One datagram per wake-up, as on_rtp. */
static int on_rtcp(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Stream *s = userdata;
        _Alignas(8) uint8_t buf[RTCP_PACKET_MAX + 1];

        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
        size_t size = (size_t) n;
        if (n < 0)
                return 0;
        if (size > RTCP_PACKET_MAX) {
                s->invalid_packets++;
                return 0;
        }
        if (unprotect(s, true, buf, &size))
                receive_rtcp(s, buf, size);
        return 0;
}

/* RFC 3550 6.3.1: the interval times a random factor in [0.5, 1.5]. */
static uint64_t rtcp_next_usec(const Stream *s, bool first) {
        uint32_t r;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
                r = (uint32_t) now_usec();
        uint64_t base = (uint64_t) s->rtcp_interval_ms * 1000 / (first ? 2 : 1);
        return base / 2 + base * (r % 1000) / 1000;
}

static int on_rtcp_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Stream *s = userdata;

        send_report(s, false);
        (void) sd_event_source_set_time(source, usec + rtcp_next_usec(s, false));
        return sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
}

void stream_io_bye(Stream *s) {
        if (s->state == STREAM_RUNNING || s->state == STREAM_HELD)
                send_report(s, true);
}

/* ---- statistics ---- */

void stream_get_stats(Stream *s, StreamStats *ret) {
        StreamStats st = { .packets_sent = s->stats_sent_packets, .octets_sent = s->stats_sent_octets };
        PlayoutStats ps = {};
        uint32_t rate = s->codec ? s->codec->ops->clock_rate : 8000;

        if (s->playout)
                playout_get_stats(s->playout, &ps);
        if (s->have_source) {
                int64_t lost = rtp_source_lost(&s->source);
                st.packets_received = s->source.received;
                st.packets_lost = lost > 0 ? (uint64_t) lost : 0;
                st.jitter_usec = (uint32_t) ((uint64_t) rtp_source_jitter_units(&s->source) * 1000000 / rate);
        }
        if (s->have_remote_report) {
                st.remote_packets_lost = s->remote_report.cumulative_lost > 0 ? (uint64_t) s->remote_report.cumulative_lost : 0;
                st.remote_jitter_usec = (uint32_t) ((uint64_t) s->remote_report.jitter * 1000000 / rate);
        }
        st.round_trip_usec = s->have_round_trip ? s->round_trip_usec : 0;
        st.srtp_auth_failures = s->srtp.auth_failures[0];
        st.srtp_replays = s->srtp.replays[0];
        st.srtcp_auth_failures = s->srtp.auth_failures[1];
        st.srtcp_replays = s->srtp.replays[1];

        uint64_t expected = s->have_source ? rtp_source_expected(&s->source) : 0;
        double loss = expected ? 100.0 * (double) st.packets_lost / (double) expected : 0;
        double delay = st.round_trip_usec / 2000.0 + ps.jitter.current_delay_ms + s->send_ptime;
        const CodecOps *c = s->codec ? s->codec->ops : &codec_pcmu;
        st.r_factor = quality_r_factor(delay, loss, c->ie, c->bpl);
        st.mos = quality_mos_from_r(st.r_factor);
        *ret = st;
}

#define CHANGED(field, name)                            \
        do {                                            \
                if (now.field != s->published.field)    \
                        names[n++] = (char *) name;     \
        } while (0)

static void publish_stats(Stream *s) {
        char *names[20];
        size_t n = 0;
        StreamStats now;

        stream_get_stats(s, &now);
        CHANGED(packets_sent, "PacketsSent");
        CHANGED(packets_received, "PacketsReceived");
        CHANGED(packets_lost, "PacketsLost");
        CHANGED(jitter_usec, "Jitter");
        CHANGED(round_trip_usec, "RoundTrip");
        CHANGED(mos, "MOS");
        CHANGED(remote_packets_lost, "RemotePacketsLost");
        CHANGED(remote_jitter_usec, "RemoteJitter");
        CHANGED(srtp_auth_failures, "SrtpAuthFailures");
        CHANGED(srtp_replays, "SrtpReplays");
        CHANGED(srtcp_auth_failures, "SrtcpAuthFailures");
        CHANGED(srtcp_replays, "SrtcpReplays");
        names[n] = NULL;
        s->published = now;
        if (n > 0)
                (void) bus_emit_properties_changed_strv(s->manager->bus, s->path, MEDIA1_STREAM_IFACE, names);
}

static int on_stats_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Stream *s = userdata;
        DtmfEvent e;

        if (s->codec && dtmf_receiver_timeout(&s->dtmf_rx, now_usec(), &e) > 0)
                dtmf_report(s, &e);
        publish_stats(s);
        (void) sd_event_source_set_time(source, usec + STATS_INTERVAL_USEC);
        return sd_event_source_set_enabled(source, SD_EVENT_ON);
}

/* ---- set-up ---- */

void stream_jitter_config(const Stream *s, JitterConfig *ret) {
        const JitterSettings *j = &s->manager->settings.jitter;
        jb_config_init(ret);
        ret->adaptive = j->adaptive;
        ret->min_ms = j->min_ms;
        ret->max_ms = j->max_ms;
        ret->normal_ms = j->normal_ms;
}

void stream_apply_jitter_settings(Stream *s) {
        JitterConfig jc;

        if (!s->playout)
                return;
        stream_jitter_config(s, &jc);
        int r = playout_set_config(s->playout, &jc);
        if (r < 0)
                log_warning_errno(r, "Stream %u: cannot apply voice.jib.*, ignoring: %m", s->id);
}

int stream_io_start(Stream *s) {
        sd_event *e = s->manager->event;
        int tos = RTP_DSCP_EF;

        if (s->family == AF_INET)
                (void) setsockopt(s->rtp_fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
        else
                (void) setsockopt(s->rtp_fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
        if (setsockopt(s->rtp_fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int) { 1 }, sizeof(int)) < 0)
                log_debug_errno(errno, "Stream %u: no receive time stamps, ignoring: %m", s->id);
        int r = sd_event_add_io(e, &s->rtp_source, s->rtp_fd, EPOLLIN, on_rtp, s);
        if (r >= 0)
                r = sd_event_add_io(e, &s->rtcp_source, s->rtcp_fd, EPOLLIN, on_rtcp, s);
        if (r >= 0 && s->manager->audio)
                stream_io_watch(s, false); /* the audio thread's periods poll it */
        return r;
}

void stream_io_started(Stream *s) {
        sd_event *e = s->manager->event;
        uint64_t now = now_usec();

        int r = sd_event_add_time(e, &s->rtcp_timer, CLOCK_MONOTONIC, now + rtcp_next_usec(s, true), 0,
                                  on_rtcp_timer, s);
        if (r >= 0)
                r = sd_event_add_time(e, &s->stats_timer, CLOCK_MONOTONIC, now + STATS_INTERVAL_USEC, 0,
                                      on_stats_timer, s);
        if (r < 0)
                log_warning_errno(r, "Stream %u: no RTCP or statistics timer, ignoring: %m", s->id);
}

void stream_io_stop(Stream *s) {
        s->rtp_source = sd_event_source_disable_unref(s->rtp_source);
        s->rtcp_source = sd_event_source_disable_unref(s->rtcp_source);
        s->rtcp_timer = sd_event_source_disable_unref(s->rtcp_timer);
        s->stats_timer = sd_event_source_disable_unref(s->stats_timer);
        closep(&s->rtp_fd);
        closep(&s->rtcp_fd);
        s->rtp_fd = s->rtcp_fd = -1;
}
