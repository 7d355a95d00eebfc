/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/*
 * Parser for Yealink "key = value" configuration files (pure: no loop, no bus).
 *
 * Accepted: an optional "#!version:1.0.0.1" first line (other "#!" lines such
 * as "#!encrypt:..." are the decryptor's business and are rejected here),
 * comments starting with '#' or ';' (any bytes, UTF-8 or not), blank lines,
 * LF or CRLF line ends, a missing final newline, a UTF-8 BOM, NUL bytes at the
 * very end (the padding of a decrypted file), spaces and tabs around keys and
 * values, repeated keys (the last one wins; all are kept in order in
 * entries[]). A value of "%NULL%" sets the key to the empty string; an empty
 * value ("key =") means "leave this key alone", as on Yealink phones, and is
 * recorded with CFG_ENTRY_IGNORED.
 *
 * Refused with file:line and a reason: a line with no '=', an empty key, a key
 * with characters outside [A-Za-z0-9._-], NUL bytes, a CR that does not end the
 * line or invalid UTF-8 outside comments, a "#!version:" line that is not the
 * first, legacy "[ section ]" INI lines (pre-v70 firmware format), lines longer
 * than CFG_LINE_MAX, more than CFG_ENTRIES_MAX entries.
 */

#define CFG_LINE_MAX 4096
#define CFG_ENTRIES_MAX 100000
#define CFG_FILE_MAX (16U * 1024U * 1024U) /* cfg_parse_file refuses larger files */
#define CFG_NULL_VALUE "%NULL%"

typedef enum CfgEntryFlags {
        CFG_ENTRY_IGNORED = 1 << 0, /* "key =": no value, leave the key alone */
        CFG_ENTRY_NULL = 1 << 1,    /* "key = %NULL%": set to empty */
} CfgEntryFlags;

typedef struct CfgEntry {
        char *key;
        char *value;   /* never NULL; "" for %NULL% and ignored entries */
        unsigned line; /* 1-based */
        unsigned flags;
} CfgEntry;

typedef struct CfgFile {
        char *name;    /* as given, used in error messages */
        char *version; /* from "#!version:", or NULL */
        CfgEntry *entries;
        size_t n_entries;
} CfgFile;

typedef struct CfgError {
        char file[256];
        unsigned line; /* 0 when not about a line */
        char reason[256];
} CfgError;

typedef enum CfgParseFlags {
        /* Keep going after a bad line (used to lint template files): what
         * cfg_parse_collect does; its return value is the number of bad lines. */
        CFG_PARSE_COLLECT = 1 << 0,
} CfgParseFlags;

/* Parse size bytes of data (may hold NULs; need not be NUL-terminated). Returns 0, or
 * -EINVAL at the first bad line, -E2BIG (too many entries or lines), -ENOMEM; on error
 * *ret_error (may be NULL) says where and why. cfg_parse_file also fails with the
 * errno of open/read and -EFBIG above CFG_FILE_MAX. */
int cfg_parse(const char *name, const char *data, size_t size, CfgFile **ret, CfgError *ret_error);
int cfg_parse_file(const char *path, CfgFile **ret, CfgError *ret_error);

/* Like cfg_parse, but keeps every good line and calls on_error (may be NULL) for each
 * bad one. Returns the number of bad lines (>= 0), or a negative errno when it cannot
 * go on (-ENOMEM, -E2BIG after more than CFG_ENTRIES_MAX entries); *ret is set only
 * when the return value is >= 0. */
typedef void (*CfgErrorCallback)(const CfgError *error, void *userdata);
int cfg_parse_collect(const char *name, const char *data, size_t size, CfgErrorCallback on_error,
                      void *userdata, CfgFile **ret);

CfgFile *cfg_file_free(CfgFile *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(CfgFile *, cfg_file_free);

/* The value the file gives the key (last one wins), NULL if absent or ignored. */
const char *cfg_file_get(const CfgFile *f, const char *key);

/* "file:line: reason" or "file: reason", for messages. */
void cfg_error_format(const CfgError *e, char *buf, size_t size);

/* Write "key = value" lines with the version header; values that are empty are
 * written as %NULL%. keys is NULL-terminated, values has as many entries. Keys
 * must be non-empty [A-Za-z0-9._-]; values must not contain CR or LF (-EINVAL);
 * -E2BIG if a line would be longer than CFG_LINE_MAX or there are more than
 * CFG_ENTRIES_MAX keys, so that what it writes always parses again.
 * *ret is NUL-terminated, *ret_size (may be NULL) its length. */
int cfg_format(char * const *keys, char * const *values, char **ret, size_t *ret_size);
