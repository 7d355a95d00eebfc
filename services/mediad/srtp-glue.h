/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "sdes.h"

/*
 * SRTP and SRTCP (RFC 3711, RFC 7714) through libsrtp2, and SDES keys from
 * GnuTLS's random generator. The only file that sees libsrtp's types and
 * status codes; they come out as negative errno:
 *
 *   -EBADMSG      authentication failed (tampered, or another key)
 *   -ESTALE       replayed: the index was seen already, or is older than the window
 *   -EKEYEXPIRED  the key's lifetime (a=crypto's, or libsrtp's own limit) is used up
 *   -EPROTO       the packet's MKI names no key we have
 *   -EINVAL       not an RTP/RTCP packet libsrtp can process
 *   -ENOBUFS      no room in the buffer for the trailer (protect)
 *
 * A session is one direction of one stream: outbound protects what we send with
 * our key, inbound checks and decrypts what the peer sends with theirs (any SSRC;
 * a new SSRC gets its own replay window). RTP and RTCP share the session's keys.
 * Everything runs on mediad's main loop; nothing here is thread-safe.
 */

/* What protect adds at most: auth tag or AEAD tag (16), MKI (128), SRTCP index (4). */
#define SRTP_TRAILER_MAX (16 + SDES_MKI_MAX + 4)

typedef struct SrtpSession SrtpSession;

/* Once per process, before the first session; safe to call again. */
int srtp_glue_init(void);

/* Fill master (key || salt of suite, exactly master_size bytes) from GNUTLS_RND_KEY. */
int srtp_key_generate(SrtpSuite suite, uint8_t *master, size_t master_size);

/* Outbound: the first key of c (with its MKI, if any). Inbound: every key of c, chosen
 * per packet by MKI when they have one. The keys are copied; c may be erased after. */
int srtp_session_new(const SdesCrypto *c, bool inbound, SrtpSession **ret);
SrtpSession *srtp_session_free(SrtpSession *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(SrtpSession *, srtp_session_free);

/* In place. protect: *size grows by at most SRTP_TRAILER_MAX, buf_size is the room there
 * is. unprotect: *size shrinks to the plain packet's size. *size is written only on success. */
int srtp_session_protect(SrtpSession *s, bool rtcp, uint8_t *buf, size_t *size, size_t buf_size);
int srtp_session_unprotect(SrtpSession *s, bool rtcp, uint8_t *buf, size_t *size);

SrtpSuite srtp_session_suite(const SrtpSession *s);
/* Packets protected (outbound) or accepted (inbound) so far, RTP and RTCP. */
uint64_t srtp_session_packets(const SrtpSession *s, bool rtcp);
