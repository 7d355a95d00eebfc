/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sdp_session_parse, sdp_answer and sdp_process_answer on arbitrary bytes. Built with
 * libFuzzer (-DFUZZING_ENGINE, see meson.build) it is a fuzz target; built normally
 * it is a regression test that runs every file (or every file in every directory)
 * given as argument.
 */

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sdp.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char * const keys[] = {
        "1 AES_CM_128_HMAC_SHA1_80 inline:HiUsMzpBSE9WXWRrcnmAh46VnKOqsbi/xs3U2+Lp",
        "2 AES_CM_128_HMAC_SHA1_32 inline:Aw4ZJC86RVBbZnF8h5KdqLO+ydTf6vUACxYhLDdC",
        "3 AES_256_CM_HMAC_SHA1_80 inline:LjU8Q0pRWF9mbXR7gomQl56lrLO6wcjP1t3k6/L5AAcOFRwjKjE4P0ZNVFtiaQ==",
        "4 AEAD_AES_128_GCM inline:HCMqMTg/Rk1UW2JpcHd+hYyTmqGor7a9xMvS2Q==",
        "5 AEAD_AES_256_GCM inline:LDM6QUhPVl1ka3J5gIeOlZyjqrG4v8bN1Nvi6fD3/gUMExohKC82PURLUlk=",
};

static void make_local(SdpLocal *l, SdpSrtpMode srtp) {
        sdp_local_init(l);
        strcpy(l->address, "192.0.2.10");
        l->port = 40000;
        l->ptime = 20;
        l->srtp = srtp;
        if (sdp_local_add_codec(l, "opus", 111, 48000, 2, "useinbandfec=1") < 0 ||
            sdp_local_add_codec(l, "G722", 9, 8000, 1, NULL) < 0 ||
            sdp_local_add_codec(l, "PCMU", 0, 8000, 1, NULL) < 0 ||
            sdp_local_add_codec(l, "PCMA", 8, 8000, 1, NULL) < 0 ||
            sdp_local_add_codec(l, "telephone-event", 101, 8000, 1, "0-16") < 0)
                abort();
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (sdp_local_add_crypto(l, keys[i]) < 0)
                        abort();
}

static bool terminated(const char *s, size_t size) {
        return memchr(s, 0, size) != NULL;
}

/* What the parser kept must respect sdp.h's limits. */
static void check_session(const SdpSession *s) {
        if (s->n_media > SDP_MEDIA_MAX || !terminated(s->address, sizeof(s->address)))
                abort();
        for (size_t i = 0; i < s->n_media; i++) {
                const SdpMedia *m = s->media[i];
                if (!m || m->n_codecs > SDP_CODECS_MAX || m->n_crypto > SDP_CRYPTO_MAX || !m->formats[0] ||
                    !terminated(m->formats, sizeof(m->formats)) || !terminated(m->address, sizeof(m->address)) ||
                    !sdp_direction_to_string(m->direction))
                        abort();
                for (size_t j = 0; j < m->n_codecs; j++)
                        if (m->codecs[j].payload_type > 127 || !terminated(m->codecs[j].fmtp, SDP_FMTP_MAX))
                                abort();
                for (size_t j = 0; j < m->n_crypto; j++) {
                        const SdpCrypto *c = &m->crypto[j];
                        if (c->n_keys > SDP_CRYPTO_KEYS_MAX || (c->supported && !c->valid) ||
                            (c->supported && c->keys[0].key_size != sdp_crypto_suite_key_size(c->suite)))
                                abort();
                }
        }
}

/* Our answer must parse, keep every offered m-line in place and accept exactly one. */
static void check_answer(const SdpSession *offer, const char *text, const SdpNegotiated *n) {
        _cleanup_(sdp_session_freep) SdpSession *a = NULL;
        size_t active = 0;

        if (sdp_session_parse(text, strlen(text), &a, NULL) < 0 || a->n_media != offer->n_media ||
            n->media_index >= offer->n_media)
                abort();
        for (size_t i = 0; i < a->n_media; i++) {
                if (!streq(a->media[i]->media, offer->media[i]->media) ||
                    !streq(a->media[i]->proto, offer->media[i]->proto))
                        abort();
                active += a->media[i]->port != 0;
        }
        if (active != 1 || a->media[n->media_index]->port != 40000)
                abort();
        if (n->srtp != (a->media[n->media_index]->n_crypto == 1))
                abort();
}

static void answer_all_modes(const SdpSession *s) {
        for (SdpSrtpMode mode = 0; mode < _SDP_SRTP_MODE_MAX; mode++) {
                SdpLocal l;
                SdpOrigin o;
                SdpNegotiated n;
                SdpError e;
                char *text = NULL;

                make_local(&l, mode);
                sdp_origin_init(&o, 1);
                int r = sdp_answer(s, &l, &o, &n, &text, &e);
                if (r >= 0) {
                        check_answer(s, text, &n);
                        erase_and_free(text);
                } else if (text || e.status == 0 || !e.reason[0])
                        abort();
                /* The same bytes, read as the answer to our offer. */
                r = sdp_process_answer(&l, s, &n, &e);
                if (r >= 0 && (s->n_media != 1 || n.port == 0))
                        abort();
                sdp_local_erase(&l);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SdpSession *s = NULL;
        SdpError e;

        if (sdp_session_parse((const char *) data, size, &s, &e) >= 0) {
                check_session(s);
                answer_all_modes(s);
                sdp_session_free(s);
        } else if (s || !e.reason[0])
                abort();

        /* The input as one a=crypto value. */
        if (size < SDP_CRYPTO_VALUE_MAX && !memchr(data, 0, size)) {
                char value[SDP_CRYPTO_VALUE_MAX];
                SdpCrypto c;
                memcpy(value, data, size);
                value[size] = 0;
                if (sdp_crypto_parse(value, &c) < 0 || (c.supported && !c.valid) ||
                    (!c.valid && !c.invalid_reason[0]))
                        abort();
        }
        return 0;
}

#define FUZZ_INPUT_MAX (4 * SDP_TEXT_MAX)
#include "fuzz-main.h"
