/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DTMF in SIP INFO bodies (dtmf-info.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dtmf-info.h"

#define TE_PAYLOAD_SIZE 4
#define TE_CLOCK_RATE 8000
#define TE_VOLUME 10

static const char * const content_types[] = {
        [DTMF_INFO_RELAY] = "application/dtmf-relay",
        [DTMF_INFO_DTMF] = "application/dtmf",
        [DTMF_INFO_TELEPHONE_EVENT] = "application/telephone-event",
};

const char *dtmf_info_content_type(DtmfInfoType t) {
        switch (t) {
        case DTMF_INFO_RELAY:
        case DTMF_INFO_DTMF:
        case DTMF_INFO_TELEPHONE_EVENT:
                return content_types[t];
        }
        return NULL;
}

int dtmf_info_type_from_content_type(const char *content_type, DtmfInfoType *ret) {
        for (DtmfInfoType t = DTMF_INFO_RELAY; t <= DTMF_INFO_TELEPHONE_EVENT; t++)
                if (content_type && strcasecmp(content_type, content_types[t]) == 0) {
                        *ret = t;
                        return 0;
                }
        return -EPROTONOSUPPORT;
}

bool dtmf_info_digit_valid(char c) {
        return c && strchr(DTMF_INFO_DIGITS, c);
}

/* A digit as sent, a-d taken as A-D; 0 when it is none. */
static char digit_from(char c) {
        c = (char) toupper((unsigned char) c);
        return dtmf_info_digit_valid(c) ? c : 0;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* [p, end) without blanks at either end. */
static void trim(const char **p, const char **end) {
        while (*p < *end && is_blank(**p))
                (*p)++;
        while (*end > *p && is_blank((*end)[-1]))
                (*end)--;
}

static bool text_ok(const uint8_t *body, size_t size) {
        for (size_t i = 0; i < size; i++)
                if (body[i] < 0x20 && body[i] != '\r' && body[i] != '\n' && body[i] != '\t')
                        return false;
                else if (body[i] == 0x7f)
                        return false;
        return true;
}

static bool name_is(const char *p, const char *end, const char *name) {
        size_t n = strlen(name);
        return (size_t) (end - p) == n && strncasecmp(p, name, n) == 0;
}

/* 1..DTMF_INFO_DURATION_MAX, decimal digits only. */
static int parse_duration(const char *p, const char *end, uint32_t *ret) {
        uint32_t v = 0;

        if (p == end || end - p > 5)
                return -EBADMSG;
        for (; p < end; p++) {
                if (*p < '0' || *p > '9')
                        return -EBADMSG;
                v = v * 10 + (uint32_t) (*p - '0');
        }
        if (v == 0 || v > DTMF_INFO_DURATION_MAX)
                return -EBADMSG;
        *ret = v;
        return 0;
}

typedef struct RelayState {
        char digit;
        uint32_t duration;
        bool have_duration;
} RelayState;

static int relay_line(const char *p, const char *end, RelayState *st) {
        const char *eq = memchr(p, '=', (size_t) (end - p));
        if (!eq)
                return p == end ? 0 : -EBADMSG; /* empty lines are fine, other text is not */
        const char *name = p, *name_end = eq, *value = eq + 1, *value_end = end;
        trim(&name, &name_end);
        trim(&value, &value_end);
        if (name_is(name, name_end, "Signal")) {
                if (st->digit || value_end - value != 1 || !(st->digit = digit_from(*value)))
                        return -EBADMSG;
        } else if (name_is(name, name_end, "Duration")) {
                if (st->have_duration || parse_duration(value, value_end, &st->duration) < 0)
                        return -EBADMSG;
                st->have_duration = true;
        } else if (name == name_end)
                return -EBADMSG;
        return 0;
}

static int parse_relay(const char *body, size_t size, char *ret_digit, uint32_t *ret_duration) {
        RelayState st = {};
        const char *p = body, *end = body + size;
        unsigned lines = 0;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *line_end = nl ?: end;
                const char *stop = line_end > p && line_end[-1] == '\r' ? line_end - 1 : line_end;
                if (++lines > DTMF_INFO_LINES_MAX || memchr(p, '\r', (size_t) (stop - p)))
                        return -EBADMSG;
                int r = relay_line(p, stop, &st);
                if (r < 0)
                        return r;
                p = nl ? nl + 1 : end;
        }
        if (!st.digit)
                return -EBADMSG;
        *ret_digit = st.digit;
        *ret_duration = st.have_duration ? st.duration : DTMF_INFO_DURATION_DEFAULT;
        return 0;
}

static int parse_dtmf(const char *body, size_t size, char *ret_digit, uint32_t *ret_duration) {
        const char *p = body, *end = body + size;

        while (p < end && (is_blank(*p) || *p == '\r' || *p == '\n'))
                p++;
        while (end > p && (is_blank(end[-1]) || end[-1] == '\r' || end[-1] == '\n'))
                end--;
        char d = end - p == 1 ? digit_from(*p) : 0;
        if (!d)
                return -EBADMSG;
        *ret_digit = d;
        *ret_duration = DTMF_INFO_DURATION_DEFAULT;
        return 0;
}

static int parse_telephone_event(const uint8_t *body, size_t size, char *ret_digit, uint32_t *ret_duration) {
        if (size != TE_PAYLOAD_SIZE || body[0] >= strlen(DTMF_INFO_DIGITS))
                return -EBADMSG;
        uint32_t units = (uint32_t) body[2] << 8 | body[3];
        *ret_digit = DTMF_INFO_DIGITS[body[0]];
        /* rounded up: 1..7 units (under 1 ms) is 1 ms, not 0; 65535 units is 8192 ms */
        *ret_duration = units ? (units * 1000 + TE_CLOCK_RATE - 1) / TE_CLOCK_RATE : DTMF_INFO_DURATION_DEFAULT;
        return 0;
}

int dtmf_info_parse(const char *content_type, const uint8_t *body, size_t size, char *ret_digit,
                    uint32_t *ret_duration_ms) {
        DtmfInfoType t;
        char digit = 0;
        uint32_t duration = 0;

        int r = dtmf_info_type_from_content_type(content_type, &t);
        if (r < 0)
                return r;
        if (!body || size == 0 || size > DTMF_INFO_BODY_MAX)
                return -EBADMSG;
        switch (t) {
        case DTMF_INFO_RELAY:
        case DTMF_INFO_DTMF:
                if (!text_ok(body, size))
                        return -EBADMSG;
                r = t == DTMF_INFO_RELAY ? parse_relay((const char *) body, size, &digit, &duration)
                                         : parse_dtmf((const char *) body, size, &digit, &duration);
                break;
        case DTMF_INFO_TELEPHONE_EVENT:
                r = parse_telephone_event(body, size, &digit, &duration);
                break;
        }
        if (r < 0)
                return r;
        *ret_digit = digit;
        *ret_duration_ms = duration;
        return 0;
}

int dtmf_info_format(DtmfInfoType t, char digit, uint32_t duration_ms, uint8_t *buf, size_t size, size_t *ret_len) {
        int n = -1;

        if (!dtmf_info_content_type(t) || !dtmf_info_digit_valid(digit) || duration_ms == 0 ||
            duration_ms > DTMF_INFO_DURATION_MAX)
                return -EINVAL;
        switch (t) {
        case DTMF_INFO_RELAY:
                n = snprintf((char *) buf, size, "Signal=%c\r\nDuration=%u\r\n", digit, duration_ms);
                break;
        case DTMF_INFO_DTMF:
                n = snprintf((char *) buf, size, "%c", digit);
                break;
        case DTMF_INFO_TELEPHONE_EVENT: {
                uint32_t units = duration_ms * (TE_CLOCK_RATE / 1000);
                if (units > UINT16_MAX)
                        units = UINT16_MAX;
                if (size < TE_PAYLOAD_SIZE)
                        return -ENOBUFS;
                buf[0] = (uint8_t) (strchr(DTMF_INFO_DIGITS, digit) - DTMF_INFO_DIGITS);
                buf[1] = 0x80 | TE_VOLUME; /* the end of the event: it is over when it is sent */
                buf[2] = (uint8_t) (units >> 8);
                buf[3] = (uint8_t) units;
                *ret_len = TE_PAYLOAD_SIZE;
                return 0;
        }
        }
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        *ret_len = (size_t) n;
        return 0;
}
