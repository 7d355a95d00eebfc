/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * The few SIP messages of plug-and-play provisioning (provision-pnp.c), with
 * no loop and no sockets: a strict parser for one UDP datagram, and the
 * SUBSCRIBE and the responses we send.
 *
 * The parser takes one message of at most PNP_SIP_MESSAGE_MAX bytes and keeps
 * only what PnP needs, each value copied into a bounded field: a header value
 * longer than its field, more than PNP_SIP_HEADERS_MAX header lines, a folded
 * line, a repeated Call-ID/CSeq/From/To/Event/Content-Type/Content-Length, a
 * NUL or control character in the head, or a Content-Length beyond the
 * datagram is -EBADMSG. Compact header names (i f t v o c l) are understood.
 */

#define PNP_SIP_MESSAGE_MAX 4096U
#define PNP_SIP_HEADERS_MAX 48U
#define PNP_SIP_VALUE_MAX 256U
#define PNP_SIP_VIAS_MAX 4U
#define PNP_SIP_BODY_MAX 1024U
#define PNP_SIP_URL_MAX 1024U
#define PNP_SIP_MULTICAST "224.0.1.75"
#define PNP_SIP_PORT 5060U

typedef struct PnpSipMessage {
        bool request;
        char method[16];                /* requests: "NOTIFY" */
        unsigned status;                /* responses: 100..699 */
        char call_id[PNP_SIP_VALUE_MAX];
        char cseq[PNP_SIP_VALUE_MAX];
        char from[PNP_SIP_VALUE_MAX];
        char to[PNP_SIP_VALUE_MAX];
        char event[PNP_SIP_VALUE_MAX];
        char content_type[PNP_SIP_VALUE_MAX];
        char via[PNP_SIP_VIAS_MAX][PNP_SIP_VALUE_MAX];
        size_t n_via;
        char body[PNP_SIP_BODY_MAX + 1]; /* NUL-terminated; a body with a NUL is refused */
        size_t body_size;
} PnpSipMessage;

/* 0, -EBADMSG (not a message we accept) or -E2BIG (too large). */
int pnp_sip_parse(const char *data, size_t size, PnpSipMessage *ret);

/* The provisioning URL a NOTIFY carries: Yealink's "application/url" body, or
 * RFC 6080's message/external-body;access-type="URL";URL="...". Must be an
 * http, https, ftp or tftp URL of printable ASCII. 0, or -EBADMSG. */
int pnp_sip_notify_url(const PnpSipMessage *m, char *ret, size_t size);

/* True when a From or To value carries exactly this tag: a NOTIFY of our
 * subscription has our SUBSCRIBE's From tag in its To (RFC 6665, 4.4.1). */
bool pnp_sip_tag_is(const char *addr, const char *tag);

/* True when the Event header names this package ("ua-profile;..." is "ua-profile"). */
bool pnp_sip_event_is(const char *event, const char *package);

typedef struct PnpSubscribe {
        const char *mac;        /* 12 lower-case hex digits */
        const char *address;    /* our IPv4 address, dotted */
        unsigned port;          /* our UDP port */
        const char *vendor, *model, *version;
        const char *call_id;    /* unique, [A-Za-z0-9.@-] */
        const char *tag;        /* From tag */
        const char *branch;     /* Via branch, starting with z9hG4bK */
        unsigned cseq;
        const char *user_agent;
} PnpSubscribe;

/* The multicast SUBSCRIBE (Event: ua-profile, profile-type "device"). Returns its
 * length, or -ENOBUFS / -EINVAL (a value that would break the message). */
int pnp_sip_format_subscribe(const PnpSubscribe *s, char *buf, size_t size);

/* A response to req (Via, From, To with to_tag added when it has none, Call-ID,
 * CSeq copied). Returns its length or -ENOBUFS. */
int pnp_sip_format_response(const PnpSipMessage *req, unsigned status, const char *phrase, const char *to_tag,
                            char *buf, size_t size);
