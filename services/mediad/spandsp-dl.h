/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * spandsp, loaded when first needed: by the first stream that offers G.722
 * (to know whether it can) or detects in-band DTMF. Many calls need neither,
 * and the library with what it links (libtiff and its image codecs,
 * libstdc++) costs mediad about 0.2 MiB of private and 0.7 MiB of shared
 * memory (doc/benchmarks.md). Once loaded it stays. The functions are
 * spandsp's own, by its headers' prototypes.
 */

#include <stdint.h>
#include <spandsp/telephony.h>
#include <spandsp/g722.h>
#include <spandsp/logging.h>
#include <spandsp/super_tone_rx.h>
#include <spandsp/dtmf.h>

typedef struct SpandspApi {
        __typeof__(g722_encode_init) *g722_encode_init;
        __typeof__(g722_encode) *g722_encode;
        __typeof__(g722_encode_free) *g722_encode_free;
        __typeof__(g722_decode_init) *g722_decode_init;
        __typeof__(g722_decode) *g722_decode;
        __typeof__(g722_decode_free) *g722_decode_free;
        __typeof__(dtmf_rx_init) *dtmf_rx_init;
        __typeof__(dtmf_rx_set_realtime_callback) *dtmf_rx_set_realtime_callback;
        __typeof__(dtmf_rx) *dtmf_rx;
        __typeof__(dtmf_rx_free) *dtmf_rx_free;
} SpandspApi;

/* NULL when the library or one of its functions is missing (logged once). */
const SpandspApi *spandsp_api(void);
