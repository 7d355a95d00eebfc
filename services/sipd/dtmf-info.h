/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * DTMF in SIP INFO bodies (RFC 2976 INFO; no RFC defines these bodies, they
 * are what phones and PBXs send), pure: no loop, no bus, no sofia.
 *
 *   1 application/dtmf-relay      "Signal=1\r\nDuration=160\r\n"
 *   2 application/dtmf            "1"
 *   3 application/telephone-event the 4-byte RFC 4733 payload (event, E bit
 *                                 and volume, duration in 8 kHz units)
 *
 * (account.N.dtmf.info_type numbers them so.) Parsing is strict and bounded:
 * at most DTMF_INFO_BODY_MAX bytes; dtmf-relay takes CRLF- or LF-separated
 * "Name=value" lines (names case-insensitive, blanks around '=' allowed),
 * Signal exactly once (one digit 0-9 * # A-D, a-d accepted), Duration at most
 * once (1..DTMF_INFO_DURATION_MAX ms; DTMF_INFO_DURATION_DEFAULT without it),
 * other names ignored, at most DTMF_INFO_LINES_MAX lines; no NUL or other
 * control characters. application/dtmf is one digit with optional blanks.
 * telephone-event: events 0-15 only, its duration rounded up to whole ms
 * (0 units: the default), so a duration is never 0.
 */

#define DTMF_INFO_BODY_MAX 256
#define DTMF_INFO_LINES_MAX 8
#define DTMF_INFO_DURATION_DEFAULT 160
#define DTMF_INFO_DURATION_MAX 10000
#define DTMF_INFO_DIGITS "0123456789*#ABCD"

typedef enum DtmfInfoType {
        DTMF_INFO_RELAY = 1,
        DTMF_INFO_DTMF = 2,
        DTMF_INFO_TELEPHONE_EVENT = 3,
} DtmfInfoType;

/* "application/dtmf-relay", ... ; NULL for another number. */
const char *dtmf_info_content_type(DtmfInfoType t);
/* By content type (without parameters, case-insensitive); -EPROTONOSUPPORT for others. */
int dtmf_info_type_from_content_type(const char *content_type, DtmfInfoType *ret);

/*
 * An INFO's body: 0 and the digit (upper case) and its duration;
 * -EPROTONOSUPPORT: not a DTMF content type (answer 415); -EBADMSG: a DTMF
 * body that is malformed or out of bounds (answer 400).
 */
int dtmf_info_parse(const char *content_type, const uint8_t *body, size_t size, char *ret_digit,
                    uint32_t *ret_duration_ms);

/* The body for one digit: written to buf (not NUL-terminated for type 3), *ret_len its size. */
int dtmf_info_format(DtmfInfoType t, char digit, uint32_t duration_ms, uint8_t *buf, size_t size, size_t *ret_len);

/* One of 0-9 * # A-D. */
bool dtmf_info_digit_valid(char c);
