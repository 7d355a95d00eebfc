/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dtmf_info_parse (SIP INFO bodies) on arbitrary bytes: the first byte picks
 * the Content-Type (modulo 4: another, dtmf-relay, dtmf, telephone-event), the rest is
 * the body. What parses is one digit with a bounded duration, and formats and
 * parses again to itself, duration included. See fuzz-cfg-parse.c for how to run it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "dtmf-info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* by data[0] % 4, as account.N.dtmf.info_type numbers them (the corpus's first bytes) */
        static const char * const types[] = { "text/plain", "application/dtmf-relay", "application/dtmf",
                                               "application/telephone-event" };
        uint8_t buf[64];
        size_t len;
        char digit = 0, again = 0;
        uint32_t ms = 0, ms_again = 0;

        if (size < 1)
                return 0;
        const char *type = types[data[0] % 4];
        int r = dtmf_info_parse(type, data + 1, size - 1, &digit, &ms);
        if (r < 0) {
                if (r != -EBADMSG && r != -EPROTONOSUPPORT)
                        abort();
                return 0;
        }
        if (!dtmf_info_digit_valid(digit) || ms == 0 || ms > DTMF_INFO_DURATION_MAX || data[0] % 4 == 0)
                abort();
        DtmfInfoType t = (DtmfInfoType) (data[0] % 4);
        if (dtmf_info_format(t, digit, ms, buf, sizeof(buf), &len) < 0 ||
            dtmf_info_parse(type, buf, len, &again, &ms_again) < 0 || again != digit)
                abort();
        /* the duration comes back as it was where the body carries one (telephone-event: it does,
         * since what parsed fits in its 16 bits of 8 kHz units) */
        if (t != DTMF_INFO_DTMF && ms_again != ms)
                abort();
        return 0;
}

#define FUZZ_INPUT_MAX 4096
#include "fuzz-main.h"
