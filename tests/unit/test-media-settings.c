/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mediad's view of the configuration: defaults as in the schema, codec order
 * from account.N.codec.*, values out of range falling back to defaults. */
#include <stdarg.h>

#include "settings.h"
#include "tap.h"
#include "util.h"

static int from(MediaSettings *s, ...) {
        _cleanup_(strv_freep) char **keys = NULL, **values = NULL;
        va_list ap;

        keys = calloc(1, sizeof(char *));
        values = calloc(1, sizeof(char *));
        va_start(ap, s);
        for (const char *k; (k = va_arg(ap, const char *));) {
                const char *v = va_arg(ap, const char *);
                if (strv_extend(&keys, k) < 0 || strv_extend(&values, v) < 0)
                        return -ENOMEM;
        }
        va_end(ap);
        return media_settings_from_dict(keys, values, s);
}

static void test_defaults(void) {
        MediaSettings s;

        tap_begin("/media-settings/defaults");
        check(media_settings_from_dict(NULL, NULL, &s) == 0);
        check(s.port_min == 11780 && s.port_max == 12780);
        check(streq(s.board, "desktop") && streq(s.playback_device, "") && streq(s.tone_country, "Custom"));
        check(s.jitter.adaptive && s.jitter.min_ms == 0 && s.jitter.max_ms == 300 && s.jitter.normal_ms == 120);
        const AccountMedia *a = media_settings_account(&s, 1);
        check(a->n_codecs == 3 && a->codecs[0] == &codec_g722 && a->codecs[1] == &codec_pcmu &&
              a->codecs[2] == &codec_pcma);
        check(a->dtmf_payload_type == 101 && a->opus_payload_type == 106 && a->dtmf_type == 1 && a->ptime == 20);
        check(media_settings_account(&s, 0) == a && media_settings_account(&s, 17) == NULL);
        media_settings_done(&s);
        tap_end();
}

static void test_values(void) {
        MediaSettings s;

        tap_begin("/media-settings/codec-order-and-ranges");
        check(from(&s, "account.2.codec.opus.enable", "1", "account.2.codec.opus.priority", "1",
                   "account.2.codec.g722.priority", "0", "account.2.codec.pcma.enable", "0",
                   "account.2.codec.opus.rtpmap", "111", "account.2.dtmf.dtmf_payload", "300",
                   "static.network.port.min_rtpport", "20000", "static.network.port.max_rtpport", "20010",
                   "voice.jib.min", "200", "voice.jib.max", "100", "voice.jib.normal", "50",
                   "deskphone.board", "", "deskphone.audio.playback_device", "file:/tmp/x.wav",
                   "deskphone.log_level", "debug", NULL) == 0);
        const AccountMedia *a = media_settings_account(&s, 2);
        /* opus 1, pcmu 2 (default), g722 0 = last; pcma off */
        check(a->n_codecs == 3 && a->codecs[0] == &codec_opus && a->codecs[1] == &codec_pcmu &&
              a->codecs[2] == &codec_g722);
        check(a->opus_payload_type == 111 && a->dtmf_payload_type == 101);
        check(s.port_min == 20000 && s.port_max == 20010);
        check(s.jitter.min_ms == 200 && s.jitter.max_ms == 200 && s.jitter.normal_ms == 200);
        check(streq(s.board, "desktop") && streq(s.playback_device, "file:/tmp/x.wav") && streq(s.log_level, "debug"));
        media_settings_done(&s);

        check(from(&s, "static.network.port.min_rtpport", "30000", "static.network.port.max_rtpport", "2000",
                   NULL) == 0);
        check(s.port_min == 11780 && s.port_max == 12780);
        media_settings_done(&s);
        tap_end();
}

int main(void) {
        test_defaults();
        test_values();
        return tap_finish();
}
