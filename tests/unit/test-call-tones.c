/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which call progress tone plays, over all calls (services/sipd/call-tones-decide.c),
 * case by case: the ringer, ringback, call-waiting during a call and while one
 * is held, one tone at a time, the timed busy/congestion tone and what ends it. */
#include <stdio.h>
#include <stdlib.h>

#include "call-tones.h"
#include "macro.h"
#include "tap.h"

#define IN CALL_INCOMING_DIRECTION
#define OUT CALL_OUTGOING_DIRECTION
#define MAX_CALLS 4

#define C(s, d) { .state = CALL_##s, .direction = d }
#define ANSWERING { .state = CALL_INCOMING, .direction = IN, .answer_wanted = true }

typedef struct Case {
        const char *name;
        CallToneCall calls[MAX_CALLS];
        size_t n;
        CallTone timed;
        bool waiting_tone;              /* call_waiting.tone */
        CallTone expected;
} Case;

static const Case cases[] = {
        { "idle", {}, 0, CALL_TONE_NONE, true, CALL_TONE_NONE },
        { "idle/timed-busy", {}, 0, CALL_TONE_BUSY, true, CALL_TONE_BUSY },
        { "idle/timed-congestion", {}, 0, CALL_TONE_CONGESTION, true, CALL_TONE_CONGESTION },
        { "ended-only", { C(ENDED, OUT) }, 1, CALL_TONE_NONE, true, CALL_TONE_NONE },
        { "ended/timed", { C(ENDED, OUT) }, 1, CALL_TONE_BUSY, true, CALL_TONE_BUSY },

        { "out/dialing", { C(DIALING, OUT) }, 1, CALL_TONE_NONE, true, CALL_TONE_NONE },
        { "out/ringing", { C(RINGING, OUT) }, 1, CALL_TONE_NONE, true, CALL_TONE_RINGBACK },
        { "out/early-media", { C(EARLY, OUT) }, 1, CALL_TONE_NONE, true, CALL_TONE_NONE },
        { "out/active", { C(ACTIVE, OUT) }, 1, CALL_TONE_NONE, true, CALL_TONE_NONE },

        { "in/ringing", { C(INCOMING, IN) }, 1, CALL_TONE_NONE, true, CALL_TONE_RING },
        { "in/ringing-waiting-tone-off", { C(INCOMING, IN) }, 1, CALL_TONE_NONE, false, CALL_TONE_RING },
        { "in/being-answered", { ANSWERING }, 1, CALL_TONE_NONE, true, CALL_TONE_NONE },
        { "in/active", { C(ACTIVE, IN) }, 1, CALL_TONE_NONE, true, CALL_TONE_NONE },

        { "active+in", { C(ACTIVE, OUT), C(INCOMING, IN) }, 2, CALL_TONE_NONE, true, CALL_TONE_CALL_WAITING },
        { "active+in/tone-off", { C(ACTIVE, OUT), C(INCOMING, IN) }, 2, CALL_TONE_NONE, false, CALL_TONE_NONE },
        { "in+active/order", { C(INCOMING, IN), C(ACTIVE, IN) }, 2, CALL_TONE_NONE, true, CALL_TONE_CALL_WAITING },
        { "active+in+in", { C(ACTIVE, IN), C(INCOMING, IN), C(INCOMING, IN) }, 3, CALL_TONE_NONE, true,
          CALL_TONE_CALL_WAITING },
        { "active+ringing-out", { C(ACTIVE, IN), C(RINGING, OUT) }, 2, CALL_TONE_NONE, true, CALL_TONE_NONE },

        /* held: the user is in a call, so call-waiting rather than the ringer */
        { "held", { C(HELD, OUT) }, 1, CALL_TONE_NONE, true, CALL_TONE_NONE },
        { "held+in", { C(HELD, OUT), C(INCOMING, IN) }, 2, CALL_TONE_NONE, true, CALL_TONE_CALL_WAITING },
        { "held+in/tone-off", { C(HELD, IN), C(INCOMING, IN) }, 2, CALL_TONE_NONE, false, CALL_TONE_NONE },
        { "held+active", { C(HELD, OUT), C(ACTIVE, IN) }, 2, CALL_TONE_NONE, true, CALL_TONE_NONE },
        { "held+ringing-out", { C(HELD, IN), C(RINGING, OUT) }, 2, CALL_TONE_NONE, true, CALL_TONE_RINGBACK },
        { "held+dialing", { C(HELD, IN), C(DIALING, OUT) }, 2, CALL_TONE_NONE, true, CALL_TONE_NONE },
        { "held+held+in", { C(HELD, IN), C(HELD, OUT), C(INCOMING, IN) }, 3, CALL_TONE_NONE, true,
          CALL_TONE_CALL_WAITING },
        { "held/timed-busy", { C(HELD, IN) }, 1, CALL_TONE_BUSY, true, CALL_TONE_BUSY },
        { "held+in/timed", { C(HELD, IN), C(INCOMING, IN) }, 2, CALL_TONE_BUSY, true, CALL_TONE_CALL_WAITING },

        /* one tone at a time, the call in progress first */
        { "ringing-out+in", { C(RINGING, OUT), C(INCOMING, IN) }, 2, CALL_TONE_NONE, true, CALL_TONE_RINGBACK },
        { "dialing+in", { C(DIALING, OUT), C(INCOMING, IN) }, 2, CALL_TONE_NONE, true, CALL_TONE_CALL_WAITING },
        { "early+in", { C(EARLY, OUT), C(INCOMING, IN) }, 2, CALL_TONE_NONE, true, CALL_TONE_CALL_WAITING },
        { "answering+in", { ANSWERING, C(INCOMING, IN) }, 2, CALL_TONE_NONE, true, CALL_TONE_CALL_WAITING },
        { "answering+in/tone-off", { ANSWERING, C(INCOMING, IN) }, 2, CALL_TONE_NONE, false, CALL_TONE_NONE },
        { "in+ended", { C(INCOMING, IN), C(ENDED, IN) }, 2, CALL_TONE_NONE, true, CALL_TONE_RING },

        /* the timed tone goes when any call but a held one starts */
        { "timed+in", { C(INCOMING, IN) }, 1, CALL_TONE_BUSY, true, CALL_TONE_RING },
        { "timed+dialing", { C(DIALING, OUT) }, 1, CALL_TONE_CONGESTION, true, CALL_TONE_NONE },
        { "timed+ringing-out", { C(RINGING, OUT) }, 1, CALL_TONE_BUSY, true, CALL_TONE_RINGBACK },
        { "timed+active", { C(ACTIVE, IN) }, 1, CALL_TONE_BUSY, true, CALL_TONE_NONE },
        { "timed+answering", { ANSWERING }, 1, CALL_TONE_CONGESTION, true, CALL_TONE_NONE },
};

static void test_decide(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                char name[96];

                snprintf(name, sizeof(name), "decide/%s", c->name);
                tap_begin(name);
                CallTone t = call_tone_decide(c->calls, c->n, c->timed, c->waiting_tone);
                check(t == c->expected, "got %s, expected %s", call_tone_to_string(t) ?: "none",
                      call_tone_to_string(c->expected) ?: "none");
                tap_end();
        }
}

static void test_timed_ends(void) {
        static const struct {
                const char *name;
                CallToneCall calls[MAX_CALLS];
                size_t n;
                bool ends;
        } t[] = {
                { "none", {}, 0, false },
                { "ended", { C(ENDED, OUT) }, 1, false },
                { "held", { C(HELD, OUT) }, 1, false },
                { "held+held", { C(HELD, OUT), C(HELD, IN) }, 2, false },
                { "incoming", { C(INCOMING, IN) }, 1, true },
                { "answering", { ANSWERING }, 1, true },
                { "dialing", { C(DIALING, OUT) }, 1, true },
                { "ringing", { C(RINGING, OUT) }, 1, true },
                { "early", { C(EARLY, OUT) }, 1, true },
                { "active", { C(ACTIVE, IN) }, 1, true },
                { "held+incoming", { C(HELD, IN), C(INCOMING, IN) }, 2, true },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                char name[96];

                snprintf(name, sizeof(name), "timed-ends/%s", t[i].name);
                tap_begin(name);
                check(call_tone_timed_ends(t[i].calls, t[i].n) == t[i].ends);
                tap_end();
        }
}

static void test_for_end(void) {
        static const struct {
                const char *name;
                CallToneCall call;
                unsigned status;
                CallTone expected;
        } t[] = {
                { "486", C(DIALING, OUT), 486, CALL_TONE_BUSY },
                { "600", C(RINGING, OUT), 600, CALL_TONE_BUSY },
                { "603", C(EARLY, OUT), 603, CALL_TONE_BUSY },
                { "487-our-cancel", C(RINGING, OUT), 487, CALL_TONE_NONE },
                { "408", C(DIALING, OUT), 408, CALL_TONE_CONGESTION },
                { "480", C(RINGING, OUT), 480, CALL_TONE_CONGESTION },
                { "503", C(DIALING, OUT), 503, CALL_TONE_CONGESTION },
                { "404", C(DIALING, OUT), 404, CALL_TONE_CONGESTION },
                { "no-status", C(DIALING, OUT), 0, CALL_TONE_NONE },
                { "2xx", C(DIALING, OUT), 200, CALL_TONE_NONE },
                { "incoming-486", C(INCOMING, IN), 486, CALL_TONE_NONE },
                { "answered-503", C(ACTIVE, OUT), 503, CALL_TONE_NONE },
                { "held-408", C(HELD, OUT), 408, CALL_TONE_NONE },
                { "ended-486", C(ENDED, OUT), 486, CALL_TONE_NONE },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                char name[96];

                snprintf(name, sizeof(name), "for-end/%s", t[i].name);
                tap_begin(name);
                CallTone got = call_tone_for_end(&t[i].call, t[i].status);
                check(got == t[i].expected, "got %s", call_tone_to_string(got) ?: "none");
                tap_end();
        }
}

static void test_names(void) {
        tap_begin("names");
        check(call_tone_to_string(CALL_TONE_NONE) == NULL);
        check(streq(call_tone_to_string(CALL_TONE_CALL_WAITING), "call-waiting"));
        check(streq(call_tone_to_string(CALL_TONE_RING), "ring"));
        check(call_tone_to_string(_CALL_TONE_MAX) == NULL);
        for (CallTone t = CALL_TONE_RINGBACK; t < _CALL_TONE_MAX; t++)
                check(call_tone_to_string(t) != NULL, "tone %d has no name", t);
        tap_end();
}

int main(void) {
        test_decide();
        test_timed_ends();
        test_for_end();
        test_names();
        return tap_finish();
}
