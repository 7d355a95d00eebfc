/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Downloaded files with their validators, for If-None-Match / If-Modified-Since. */
#include <dirent.h>
#include <gnutls/crypto.h>

#include "provision-cache.h"
#include "util.h"

#define CACHE_MAGIC "deskphone-provision-cache 1\n"
#define CACHE_HEADER_MAX 1024U

void cache_entry_done(CacheEntry *e) {
        free(e->etag);
        free(e->last_modified);
        if (e->body)
                explicit_bzero(e->body, e->size);
        free(e->body);
        *e = (CacheEntry) {};
}

int cache_id(const char *url, char ret[static 65]) {
        uint8_t digest[32];

        if (gnutls_hash_fast(GNUTLS_DIG_SHA256, url, strlen(url), digest) < 0)
                return -EIO;
        for (size_t i = 0; i < sizeof(digest); i++)
                snprintf(ret + 2 * i, 3, "%02x", digest[i]);
        return 0;
}

static int entry_path(const char *dir, const char *url, char **ret) {
        char id[65];
        int r = cache_id(url, id);
        if (r < 0)
                return r;
        *ret = strjoin(dir, "/", id, NULL);
        return *ret ? 0 : -ENOMEM;
}

/* "name: value\n" at *p, advancing *p; NULL value for "-". */
static int header_line(const char **p, const char *end, const char *name, char **ret) {
        const char *v = startswith(*p, name);
        if (!v || *v != ' ')
                return -EBADMSG;
        v++;
        const char *nl = memchr(v, '\n', (size_t) (end - v));
        if (!nl)
                return -EBADMSG;
        if (nl - v == 1 && *v == '-')
                *ret = NULL;
        else if (!(*ret = strndup(v, (size_t) (nl - v))))
                return -ENOMEM;
        *p = nl + 1;
        return 0;
}

static int parse(const char *data, size_t size, CacheEntry *ret) {
        _cleanup_(cache_entry_done) CacheEntry e = {};
        const char *end = data + size, *p = startswith(data, CACHE_MAGIC);

        int r = p ? header_line(&p, end, "etag:", &e.etag) : -EBADMSG;
        if (r >= 0)
                r = header_line(&p, end, "last-modified:", &e.last_modified);
        if (r >= 0 && (p >= end || *p != '\n'))
                r = -EBADMSG;
        if (r < 0)
                return r;
        p++;
        e.size = (size_t) (end - p);
        e.body = malloc(e.size + 1);
        if (!e.body)
                return -ENOMEM;
        memcpy(e.body, p, e.size);
        e.body[e.size] = '\0';
        *ret = e;
        e = (CacheEntry) {};
        return 0;
}

int cache_load(const char *dir, const char *url, size_t max_size, CacheEntry *ret) {
        _cleanup_(freep) char *path = NULL;
        char *data = NULL;
        size_t size;

        int r = entry_path(dir, url, &path);
        if (r < 0)
                return r;
        r = read_full_file(path, &data, &size, max_size + CACHE_HEADER_MAX);
        if (r == -EFBIG)
                (void) unlink(path);
        if (r < 0)
                return r == -EFBIG ? -ENOENT : r;
        r = parse(data, size, ret);
        explicit_bzero(data, size);
        free(data);
        if (r >= 0 && ret->size > max_size) {
                cache_entry_done(ret);
                r = -EBADMSG;
        }
        if (r == -EBADMSG) {
                (void) unlink(path);
                return -ENOENT;
        }
        return r;
}

static bool validator_ok(const char *v) {
        return !v || (strlen(v) < CACHE_HEADER_MAX / 4 && !strchr(v, '\n'));
}

int cache_store(const char *dir, const char *url, const char *etag, const char *last_modified,
                const char *body, size_t size) {
        _cleanup_(freep) char *path = NULL, *head = NULL;
        int r = entry_path(dir, url, &path);
        if (r < 0)
                return r;
        if ((!etag && !last_modified) || !validator_ok(etag) || !validator_ok(last_modified)) {
                (void) unlink(path);
                return 0;
        }
        head = strjoin(CACHE_MAGIC "etag: ", etag ?: "-", "\nlast-modified: ", last_modified ?: "-", "\n\n",
                       NULL);
        if (!head)
                return -ENOMEM;
        size_t hl = strlen(head);
        char *data = malloc(hl + size);
        if (!data)
                return -ENOMEM;
        memcpy(data, head, hl);
        memcpy(data + hl, body, size);
        r = mkdir_p(dir, 0700);
        if (r >= 0)
                r = write_file_atomic(path, data, hl + size, 0600);
        explicit_bzero(data, hl + size);
        free(data);
        return r;
}

static bool is_id(const char *name) {
        if (strlen(name) != 64)
                return false;
        for (const char *c = name; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return false;
        return true;
}

int cache_prune(const char *dir, char * const *keep) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int r = 0;

        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d)))
                if (is_id(de->d_name) && !strv_contains(keep, de->d_name) && unlinkat(dirfd(d), de->d_name, 0) < 0)
                        r = negative_errno();
        closedir(d);
        return r;
}
