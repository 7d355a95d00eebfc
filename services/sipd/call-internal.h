/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Between call.c (a call's life, its first offer/answer) and call-reinvite.c
 * (its offer/answer once established); the rest of sipd sees sipd.h. */
#include "sipd.h"

/* call.c */
/* "Call N is <state>: what", as a D-Bus error for a method the state refuses. */
int call_wrong_state(Call *c, BusError *error, const char *what);
/* Parse and apply the peer's answer to our offer (unchanged SDP: nothing to do). */
int call_take_answer(Call *c, const char *sdp, size_t size, SdpError *err);
/* Codec property, and the media stream started or updated with what was agreed. */
void call_apply_negotiated(Call *c, const SdpNegotiated *n);
/* active or held, from the two hold flags */
void call_update_hold_state(Call *c);

/* call-reinvite.c: the SIP events of a re-INVITE */
void call_on_reinvite(Call *c, const SipCallEvent *e);
void call_on_reinvite_answered(Call *c, const SipCallEvent *e);
void call_on_reinvite_refused(Call *c, const SipCallEvent *e);
/* The new stream of a call whose mediad was replaced (REINVITE_RESTORE): offer it to the peer. */
void call_restore_offer(Call *c);
/* That offer crossed one of the peer's (491): offer again after 2.1-4 s (RFC 3261
 * 14.1), at most 3 times; false when no more. */
bool call_restore_retry(Call *c);

/* call.c */
/* EndReason, state "ended", the stream stopped; the call leaves the bus later. */
void call_end(Call *c, const char *reason);
/* BYE, CANCEL or an error response, whatever state the call is in. */
void call_hang_up_now(Call *c);
/* Media1.CreateStream for the call; call_on_stream_created() gets the answer. */
int call_request_stream(Call *c);
uint64_t call_random_u63(void);

/* call-restore.c: end the call because its media is gone for good (BYE or CANCEL). */
void call_end_media_stopped(Call *c);
