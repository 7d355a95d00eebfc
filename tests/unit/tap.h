/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A few lines of TAP for the unit tests: one "ok N - /path/name" per test,
 * diagnostics as "# ..." lines, the plan at the end, exit status 1 if anything
 * failed. A test is the code between tap_begin() and tap_end(); check() records
 * a failure and goes on, so one run shows every broken case.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned tap_n_run, tap_n_failed;
static bool tap_failed;
static const char *tap_name;

static inline void tap_begin(const char *name) {
        tap_name = name;
        tap_failed = false;
}

static inline void tap_end(void) {
        tap_n_run++;
        if (tap_failed)
                tap_n_failed++;
        printf("%s %u - %s\n", tap_failed ? "not ok" : "ok", tap_n_run, tap_name);
        fflush(stdout);
}

static inline void tap_skip(const char *name, const char *why) {
        printf("ok %u - %s # SKIP %s\n", ++tap_n_run, name, why);
}

__attribute__((format(printf, 5, 6))) static inline bool tap_check(bool ok, const char *file, int line,
                                                                   const char *expr, const char *format, ...) {
        va_list ap;

        if (ok)
                return true;
        tap_failed = true;
        /* on stdout for the TAP reader, and on stderr, which meson shows for a failed test */
        for (FILE *f = stdout; f; f = f == stdout ? stderr : NULL) {
                fprintf(f, "# %s: %s:%d: check failed: %s;", tap_name, file, line, expr);
                va_start(ap, format);
                vfprintf(f, format, ap);
                va_end(ap);
                fprintf(f, "\n");
                fflush(f);
        }
        return false;
}

/* check(cond) or check(cond, "format", ...): the message says what was seen. */
#define check(cond, ...) tap_check(!!(cond), __FILE__, __LINE__, #cond, " " __VA_ARGS__)

static inline int tap_finish(void) {
        printf("1..%u\n", tap_n_run);
        if (tap_n_failed > 0)
                printf("# %u of %u failed\n", tap_n_failed, tap_n_run);
        return tap_n_failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
