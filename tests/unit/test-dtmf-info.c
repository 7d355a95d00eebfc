/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DTMF in SIP INFO bodies: what is accepted (as phones and PBXs send it), what
 * gets 415 and 400, and what we send. */
#include "dtmf-info.h"
#include "macro.h"
#include "tap.h"

#define RELAY "application/dtmf-relay"
#define DTMF "application/dtmf"
#define TE "application/telephone-event"

typedef struct Case {
        const char *name;
        const char *type;
        const char *body;
        int result;
        char digit;
        uint32_t ms;
} Case;

static const Case cases[] = {
        { "relay/crlf", RELAY, "Signal=1\r\nDuration=160\r\n", 0, '1', 160 },
        { "relay/lf", RELAY, "Signal=#\nDuration=250\n", 0, '#', 250 },
        { "relay/blanks", RELAY, "Signal = *\r\nDuration= 100\r\n", 0, '*', 100 },
        { "relay/no-duration", RELAY, "Signal=9", 0, '9', DTMF_INFO_DURATION_DEFAULT },
        { "relay/lower-case", RELAY, "signal=d\r\nduration=80\r\n", 0, 'D', 80 },
        { "relay/type-case", "Application/DTMF-Relay", "Signal=5\r\n", 0, '5', DTMF_INFO_DURATION_DEFAULT },
        { "relay/other-field", RELAY, "Signal=7\r\nDuration=160\r\nVolume=10\r\n", 0, '7', 160 },
        { "relay/empty-lines", RELAY, "\r\nSignal=0\r\n\r\n", 0, '0', DTMF_INFO_DURATION_DEFAULT },
        { "relay/no-signal", RELAY, "Duration=160\r\n", -EBADMSG },
        { "relay/two-signals", RELAY, "Signal=1\r\nSignal=2\r\n", -EBADMSG },
        { "relay/two-durations", RELAY, "Signal=1\r\nDuration=1\r\nDuration=2\r\n", -EBADMSG },
        { "relay/bad-digit", RELAY, "Signal=E\r\n", -EBADMSG },
        { "relay/flash", RELAY, "Signal=!\r\n", -EBADMSG },
        { "relay/numeric-event", RELAY, "Signal=11\r\n", -EBADMSG },
        { "relay/empty-signal", RELAY, "Signal=\r\n", -EBADMSG },
        { "relay/duration-zero", RELAY, "Signal=1\r\nDuration=0\r\n", -EBADMSG },
        { "relay/duration-huge", RELAY, "Signal=1\r\nDuration=99999999999999999999\r\n", -EBADMSG },
        { "relay/duration-over", RELAY, "Signal=1\r\nDuration=10001\r\n", -EBADMSG },
        { "relay/duration-negative", RELAY, "Signal=1\r\nDuration=-5\r\n", -EBADMSG },
        { "relay/duration-text", RELAY, "Signal=1\r\nDuration=1x\r\n", -EBADMSG },
        { "relay/no-equals", RELAY, "Signal 1\r\n", -EBADMSG },
        { "relay/no-name", RELAY, "=1\r\n", -EBADMSG },
        { "relay/bare-cr", RELAY, "Signal=1\rDuration=160\r\n", -EBADMSG },
        { "relay/control", RELAY, "Signal=1\x01\r\n", -EBADMSG },
        { "relay/too-many-lines", RELAY, "a=1\na=1\na=1\na=1\na=1\na=1\na=1\na=1\nSignal=1\n", -EBADMSG },
        { "relay/empty", RELAY, "", -EBADMSG },
        { "dtmf/digit", DTMF, "1", 0, '1', DTMF_INFO_DURATION_DEFAULT },
        { "dtmf/crlf", DTMF, "#\r\n", 0, '#', DTMF_INFO_DURATION_DEFAULT },
        { "dtmf/lower", DTMF, " a ", 0, 'A', DTMF_INFO_DURATION_DEFAULT },
        { "dtmf/two", DTMF, "12", -EBADMSG },
        { "dtmf/letter", DTMF, "x", -EBADMSG },
        { "dtmf/blank", DTMF, "  \r\n", -EBADMSG },
        { "type/sdp", "application/sdp", "v=0\r\n", -EPROTONOSUPPORT },
        { "type/text", "text/plain", "1", -EPROTONOSUPPORT },
        { "type/none", NULL, "Signal=1", -EPROTONOSUPPORT },
        { "type/prefix", "application/dtmf-relayx", "Signal=1", -EPROTONOSUPPORT },
};

static void test_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                char name[96], digit = 0;
                uint32_t ms = 0;

                snprintf(name, sizeof(name), "/dtmf-info/parse/%s", c->name);
                tap_begin(name);
                int r = dtmf_info_parse(c->type, (const uint8_t *) c->body, strlen(c->body), &digit, &ms);
                check(r == c->result, "%d", r);
                if (r == 0 && c->result == 0)
                        check(digit == c->digit && ms == c->ms, "%c %u", digit, ms);
                tap_end();
        }
}

static void test_limits(void) {
        uint8_t big[DTMF_INFO_BODY_MAX + 2];
        char digit;
        uint32_t ms;

        tap_begin("/dtmf-info/parse/oversized");
        memset(big, ' ', sizeof(big));
        memcpy(big, "Signal=1\r\nPad=", 14); /* an ignored field of blanks */
        check(dtmf_info_parse(RELAY, big, DTMF_INFO_BODY_MAX, &digit, &ms) == 0 && digit == '1');
        check(dtmf_info_parse(RELAY, big, DTMF_INFO_BODY_MAX + 1, &digit, &ms) == -EBADMSG);
        tap_end();

        tap_begin("/dtmf-info/parse/nul-byte");
        check(dtmf_info_parse(RELAY, (const uint8_t *) "Signal=1\0\r\n", 11, &digit, &ms) == -EBADMSG);
        check(dtmf_info_parse(DTMF, (const uint8_t *) "1\0", 2, &digit, &ms) == -EBADMSG);
        check(dtmf_info_parse(RELAY, NULL, 0, &digit, &ms) == -EBADMSG);
        tap_end();

        tap_begin("/dtmf-info/parse/telephone-event");
        check(dtmf_info_parse(TE, (const uint8_t *) "\x0b\x8a\x05\x00", 4, &digit, &ms) == 0 && digit == '#' &&
              ms == 160);
        check(dtmf_info_parse(TE, (const uint8_t *) "\x00\x8a\x03\x20", 4, &digit, &ms) == 0 && digit == '0' &&
              ms == 100);
        check(dtmf_info_parse(TE, (const uint8_t *) "\x10\x8a\x05\x00", 4, &digit, &ms) == -EBADMSG);
        check(dtmf_info_parse(TE, (const uint8_t *) "\x01\x8a\x05", 3, &digit, &ms) == -EBADMSG);
        check(dtmf_info_parse(TE, (const uint8_t *) "\x01\x8a\x05\x00\x00", 5, &digit, &ms) == -EBADMSG);
        /* no duration: the default; under 1 ms: 1 ms, never 0; the longest: 65535 units */
        check(dtmf_info_parse(TE, (const uint8_t *) "\x05\x8a\x00\x00", 4, &digit, &ms) == 0 && digit == '5' &&
              ms == DTMF_INFO_DURATION_DEFAULT, "%u", ms);
        check(dtmf_info_parse(TE, (const uint8_t *) "\x05\x8a\x00\x05", 4, &digit, &ms) == 0 && ms == 1, "%u", ms);
        check(dtmf_info_parse(TE, (const uint8_t *) "\x05\x8a\xff\xff", 4, &digit, &ms) == 0 && ms == 8192, "%u", ms);
        tap_end();
}

static void test_format(void) {
        uint8_t buf[64];
        size_t len;
        char digit;
        uint32_t ms;

        tap_begin("/dtmf-info/format/relay");
        check(dtmf_info_format(DTMF_INFO_RELAY, '1', 160, buf, sizeof(buf), &len) == 0);
        check(len == 24 && memcmp(buf, "Signal=1\r\nDuration=160\r\n", 24) == 0, "%.*s", (int) len, buf);
        check(streq(dtmf_info_content_type(DTMF_INFO_RELAY), RELAY));
        tap_end();

        tap_begin("/dtmf-info/format/dtmf");
        check(dtmf_info_format(DTMF_INFO_DTMF, '#', 160, buf, sizeof(buf), &len) == 0 && len == 1 && buf[0] == '#');
        check(streq(dtmf_info_content_type(DTMF_INFO_DTMF), DTMF));
        tap_end();

        tap_begin("/dtmf-info/format/telephone-event");
        check(dtmf_info_format(DTMF_INFO_TELEPHONE_EVENT, '0', 160, buf, sizeof(buf), &len) == 0 && len == 4);
        check(memcmp(buf, "\x00\x8a\x05\x00", 4) == 0);
        check(dtmf_info_parse(TE, buf, len, &digit, &ms) == 0 && digit == '0' && ms == 160);
        tap_end();

        tap_begin("/dtmf-info/format/round-trip");
        const char *all = "0123456789*#ABCD";
        for (DtmfInfoType t = DTMF_INFO_RELAY; t <= DTMF_INFO_TELEPHONE_EVENT; t++)
                for (const char *p = all; *p; p++) {
                        check(dtmf_info_format(t, *p, 200, buf, sizeof(buf), &len) == 0);
                        check(dtmf_info_parse(dtmf_info_content_type(t), buf, len, &digit, &ms) == 0 && digit == *p,
                              "type %d digit %c", t, *p);
                        /* application/dtmf carries no duration */
                        check(ms == (t == DTMF_INFO_DTMF ? DTMF_INFO_DURATION_DEFAULT : 200), "type %d: %u ms", t, ms);
                }
        tap_end();

        tap_begin("/dtmf-info/format/telephone-event-durations");
        for (uint32_t d = 1; d <= DTMF_INFO_DURATION_MAX; d++) {
                uint32_t want = MIN(d, 8192u); /* at most 65535 units of 8 kHz, rounded up */
                if (dtmf_info_format(DTMF_INFO_TELEPHONE_EVENT, '1', d, buf, sizeof(buf), &len) < 0 ||
                    dtmf_info_parse(TE, buf, len, &digit, &ms) < 0 || ms != want) {
                        check(false, "%u ms came back as %u ms", d, ms);
                        break;
                }
        }
        tap_end();

        tap_begin("/dtmf-info/format/invalid");
        check(dtmf_info_format(DTMF_INFO_RELAY, 'x', 160, buf, sizeof(buf), &len) == -EINVAL);
        check(dtmf_info_format((DtmfInfoType) 9, '1', 160, buf, sizeof(buf), &len) == -EINVAL);
        check(dtmf_info_format(DTMF_INFO_RELAY, '1', 0, buf, sizeof(buf), &len) == -EINVAL);
        check(dtmf_info_format(DTMF_INFO_RELAY, '1', 160, buf, 8, &len) == -ENOBUFS);
        tap_end();
}

int main(void) {
        test_cases();
        test_limits();
        test_format();
        return tap_finish();
}
