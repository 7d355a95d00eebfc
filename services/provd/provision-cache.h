/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/*
 * The copies of downloaded files that conditional requests refer to: one file
 * per URL in <dir> (named by the SHA-256 of the URL, so no URL, and no
 * password in one, is a file name), holding the ETag and Last-Modified the
 * server sent with the body and the body as downloaded (encrypted if it was).
 * One file per entry, written atomically, so a validator never goes with
 * another body. Files are 0600: a plain configuration file holds passwords.
 */

typedef struct CacheEntry {
        char *etag;          /* NULL when none */
        char *last_modified; /* NULL when none */
        char *body;          /* NUL-terminated, not counted in size */
        size_t size;
} CacheEntry;

void cache_entry_done(CacheEntry *e);

/* The file name (64 hex digits) of url's entry; ret has room for 65 bytes. */
int cache_id(const char *url, char ret[static 65]);
/* -ENOENT when there is no entry (or it is damaged: then it is removed). */
int cache_load(const char *dir, const char *url, size_t max_size, CacheEntry *ret);
/* Store the body with its validators; without either validator the entry is removed
 * (nothing could ever be answered 304). */
int cache_store(const char *dir, const char *url, const char *etag, const char *last_modified,
                const char *body, size_t size);
/* Remove every entry whose id is not in keep (NULL-terminated ids). */
int cache_prune(const char *dir, char * const *keep);
