/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/*
 * The typed schema of every configuration key the phone honours.
 *
 * Keys are patterns: an "N" element stands for an index with a range given
 * in the entry ("account.N.sip_server.M.address": N in 1..16, M in 1..2).
 * Values travel as strings everywhere (as in the cfg files); the schema says
 * how to check and normalise them.
 */

typedef enum SchemaType {
        SCHEMA_STRING,  /* any UTF-8 without control characters, max_len bytes */
        SCHEMA_BOOL,    /* "0" or "1" */
        SCHEMA_INT,     /* decimal in [min, max] */
        SCHEMA_ENUM,    /* one of choices ("0|1|2" or "udp|tcp") */
        SCHEMA_HOST,    /* host name, IPv4 or IPv6 literal, may be empty */
        SCHEMA_URL,     /* http/https/tftp/ftp URL, may be empty */
        SCHEMA_PATH,    /* absolute file path, may be empty */
} SchemaType;

typedef struct SchemaKey {
        const char *pattern;      /* e.g. "account.N.password" */
        SchemaType type;
        const char *default_value;
        long min, max;            /* SCHEMA_INT range; for STRING max is the max length */
        const char *choices;      /* SCHEMA_ENUM: "|"-separated */
        unsigned index_max[2];    /* ranges of the 1st and 2nd N element (1-based, inclusive) */
        bool secret;              /* masked to all but the service named in reader */
        const char *reader;       /* D-Bus name allowed to read the secret in clear; NULL: provd only */
        const char *users;        /* services that use it, for docs: "sipd", "sipd,mediad" */
        const char *description;  /* one line, for doc/config-keys.md */
        /* Optional extra check, run after the type's on the normalised value, which it may
         * rewrite in place (not longer). 0 or -EINVAL with reason filled. */
        int (*check)(char *value, char *reason, size_t reason_size);
} SchemaKey;

#define SCHEMA_MASK "********"

/* The entry matching a concrete key, or NULL when the phone does not know it. */
const SchemaKey *schema_find(const char *key);

/* Check value against the entry; on error fill reason (e.g. "must be an integer in
 * 0..65535, got 'abc'"; the caller prefixes the concrete key: "account.1.sip_server.1.port:
 * must be ...") and return -EINVAL or -ERANGE. Reasons never quote the value of a secret
 * key. On success *ret_normalised (may be NULL) gets a newly allocated canonical form
 * (leading/trailing blanks dropped, integers in plain decimal, ...). */
int schema_validate(const SchemaKey *k, const char *value, char **ret_normalised,
                    char *reason, size_t reason_size);

/* All entries, terminated by an entry with pattern NULL. */
extern const SchemaKey schema_keys[];

/* Call fn for every concrete key with its default (expanding N ranges). */
typedef int (*SchemaKeyVisitor)(const char *key, const SchemaKey *k, void *userdata);
int schema_foreach_key(SchemaKeyVisitor fn, void *userdata);

/* doc/config-keys.md, generated: a Markdown table per section (gen-config-keys prints it). */
int schema_write_markdown(FILE *f);

const char *schema_type_to_string(SchemaType t);
