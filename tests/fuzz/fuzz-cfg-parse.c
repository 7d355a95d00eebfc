/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cfg_parse on arbitrary bytes. Built with libFuzzer (-DFUZZING_ENGINE, see
 * meson.build) it is a fuzz target; built normally it is a regression test that
 * runs every file (or every file in every directory) given as argument.
 */

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cfg-parse.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_file(const CfgFile *f) {
        for (size_t i = 0; i < f->n_entries; i++) {
                const CfgEntry *e = &f->entries[i];
                if (!e->key || !*e->key || !e->value || !utf8_is_valid_n(e->value, strlen(e->value)))
                        abort();
                if (cfg_file_get(f, e->key) == NULL && !(e->flags & CFG_ENTRY_IGNORED))
                        abort();
        }
}

/* Whatever parses must survive cfg_format and parse again to the same values. */
static void check_round_trip(const CfgFile *f) {
        _cleanup_(strv_freep) char **keys = calloc(f->n_entries + 1, sizeof(char *));
        _cleanup_(strv_freep) char **values = calloc(f->n_entries + 1, sizeof(char *));
        _cleanup_(freep) char *out = NULL;
        _cleanup_(cfg_file_freep) CfgFile *g = NULL;
        size_t n = 0, size;

        if (!keys || !values)
                return;
        for (size_t i = 0; i < f->n_entries; i++) {
                if (f->entries[i].flags & CFG_ENTRY_IGNORED)
                        continue;
                keys[n] = strdup(f->entries[i].key);
                values[n] = strdup(f->entries[i].value);
                if (!keys[n] || !values[n])
                        return;
                n++;
        }
        int r = cfg_format(keys, values, &out, &size);
        if (r == -E2BIG) /* "k=v" near CFG_LINE_MAX becomes "k = v", too long to write */
                return;
        if (r < 0)
                abort();
        if (cfg_parse("round-trip", out, size, &g, NULL) < 0)
                abort();
        for (size_t i = 0; i < n; i++)
                if (!streq_ptr(cfg_file_get(g, keys[i]), cfg_file_get(f, keys[i])))
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        CfgFile *f = NULL;
        CfgError e;
        char buf[600];

        if (size > 4 * CFG_LINE_MAX * 16)
                return 0;
        if (cfg_parse("fuzz", (const char *) data, size, &f, &e) >= 0) {
                check_file(f);
                check_round_trip(f);
                cfg_file_free(f);
        } else {
                if (f)
                        abort();
                cfg_error_format(&e, buf, sizeof(buf));
        }

        f = NULL;
        if (cfg_parse_collect("fuzz", (const char *) data, size, NULL, NULL, &f) >= 0) {
                check_file(f);
                cfg_file_free(f);
        }
        return 0;
}

#define FUZZ_INPUT_MAX CFG_FILE_MAX
#include "fuzz-main.h"
