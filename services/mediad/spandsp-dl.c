/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "log.h"
#include "spandsp-dl.h"

/* Debian 12's libspandsp2 (0.0.6); the soname is the ABI we were built against. */
#define SPANDSP_SONAME "libspandsp.so.2"

static SpandspApi api;
static const SpandspApi *loaded;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const struct {
        const char *name;
        size_t offset;
} symbols[] = {
#define SYM(n) { #n, offsetof(SpandspApi, n) }
        SYM(g722_encode_init), SYM(g722_encode), SYM(g722_encode_free),
        SYM(g722_decode_init), SYM(g722_decode), SYM(g722_decode_free),
        SYM(dtmf_rx_init), SYM(dtmf_rx_set_realtime_callback), SYM(dtmf_rx), SYM(dtmf_rx_free),
#undef SYM
};

static void load(void) {
        /* tests name a missing library here to see mediad without spandsp */
        const char *soname = secure_getenv("DESKPHONE_SPANDSP_LIBRARY") ?: SPANDSP_SONAME;
        void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                log_error("Cannot load %s: G.722 is not offered and in-band DTMF is not detected: %s", soname,
                          dlerror());
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(symbols); i++) {
                void *f = dlsym(h, symbols[i].name);
                if (!f) {
                        log_error("%s has no %s: not the spandsp we were built for", soname,
                                  symbols[i].name);
                        dlclose(h);
                        return;
                }
                /* POSIX: a function pointer and an object pointer convert both ways */
                *(void **) ((char *) &api + symbols[i].offset) = f;
        }
        log_debug("Loaded %s", soname);
        loaded = &api;
}

const SpandspApi *spandsp_api(void) {
        (void) pthread_once(&once, load);
        return loaded;
}
