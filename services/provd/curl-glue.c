/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libcurl's multi interface on sd-event; the only file that sees libcurl. */
#include <curl/curl.h>
#include <sys/epoll.h>
#include <time.h>

#include "curl-glue.h"
#include "log.h"
#include "util.h"

#define HEADER_VALUE_MAX 256
#define RETRY_AFTER_MAX_S (24U * 3600U)

struct HttpClient {
        sd_event *event;
        CURLM *multi;
        char *default_cainfo; /* how this libcurl finds the system's CAs: a file ... */
        char *default_capath; /* ... or a directory */
        sd_event_source *timer;
        HttpRequest *requests; /* a list, to free what is left */
};

struct HttpRequest {
        HttpClient *client;
        HttpRequest *prev, *next;
        CURL *easy;
        struct curl_slist *headers;
        char errbuf[CURL_ERROR_SIZE];
        HttpDoneCallback done;
        void *userdata;
        bool http;
        bool tftp;              /* no connection: waiting starts with the first packet */

        char *body;
        size_t size, allocated, max_size;
        bool too_large;
        bool got_status;
        sd_event_source *stall_timer;
        uint64_t last_progress; /* CLOCK_MONOTONIC usec of the last byte received */
        char *etag, *last_modified;
        uint64_t retry_after_s;
        unsigned stall_s, connect_s;

        char *upload;           /* http_upload(): what is sent (may hold secrets) */
        size_t upload_size, upload_pos;
        curl_mime *mime;
};

/* ---- requests ---- */

static void request_free(HttpRequest *req) {
        if (!req)
                return;
        if (req->easy) {
                curl_multi_remove_handle(req->client->multi, req->easy);
                curl_easy_cleanup(req->easy);
        }
        if (req->prev)
                req->prev->next = req->next;
        else if (req->client->requests == req)
                req->client->requests = req->next;
        if (req->next)
                req->next->prev = req->prev;
        sd_event_source_disable_unref(req->stall_timer);
        curl_slist_free_all(req->headers);
        curl_mime_free(req->mime);
        if (req->upload)
                explicit_bzero(req->upload, req->upload_size);
        free(req->upload);
        free(req->body);
        free(req->etag);
        free(req->last_modified);
        free(req);
}

void http_request_cancel(HttpRequest *req) {
        request_free(req);
}

static size_t on_write(char *data, size_t size, size_t n, void *userdata) {
        HttpRequest *req = userdata;
        size_t len = size * n;
        long status = 0;

        req->last_progress = now_usec();
        /* the body of an error (a 404 page) is not wanted, however large */
        if (req->http && curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
            (status < 200 || status >= 300))
                return len;
        if (len > req->max_size - req->size) {
                req->too_large = true;
                return 0; /* aborts the transfer */
        }
        if (req->size + len + 1 > req->allocated) {
                size_t a = MAX(req->allocated * 2, req->size + len + 1);
                a = MIN(a, req->max_size + 1);
                char *b = realloc(req->body, a);
                if (!b)
                        return 0;
                req->body = b;
                req->allocated = a;
        }
        memcpy(req->body + req->size, data, len);
        req->size += len;
        req->body[req->size] = '\0';
        return len;
}

/* A header's value, trimmed, if it is printable ASCII of sensible length; else NULL. */
static char *header_value(const char *line, size_t len, const char *name) {
        size_t l = strlen(name);

        if (len <= l || strncasecmp(line, name, l) != 0)
                return NULL;
        const char *v = line + l, *end = line + len;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
        if (end == v || (size_t) (end - v) > HEADER_VALUE_MAX)
                return NULL;
        for (const char *c = v; c < end; c++)
                if (*c < 0x20 || *c > 0x7e)
                        return NULL;
        return strndup(v, end - v);
}

static uint64_t parse_retry_after(const char *v) {
        unsigned s;

        if (safe_atou(v, &s) >= 0)
                return MIN(s, RETRY_AFTER_MAX_S);
        time_t t = curl_getdate(v, NULL), now = time(NULL);
        if (t <= 0 || t <= now)
                return 0;
        return MIN((uint64_t) (t - now), (uint64_t) RETRY_AFTER_MAX_S);
}

static void replace(char **p, char *v) {
        if (v) {
                free(*p);
                *p = v;
        }
}

/* Every header line of every response (redirects, 401 challenges): keep the last response's. */
static size_t on_header(char *line, size_t size, size_t n, void *userdata) {
        HttpRequest *req = userdata;
        size_t len = size * n;
        char *v;

        req->last_progress = now_usec();
        if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
                req->got_status = true;
                free(req->etag);
                free(req->last_modified);
                req->etag = req->last_modified = NULL;
                req->retry_after_s = 0;
                return len;
        }
        replace(&req->etag, header_value(line, len, "ETag:"));
        replace(&req->last_modified, header_value(line, len, "Last-Modified:"));
        v = header_value(line, len, "Retry-After:");
        if (v) {
                req->retry_after_s = parse_retry_after(v);
                free(v);
        }
        return len;
}

/* ---- errors ---- */

static void tls_reason(const char *detail, char *reason, size_t size) {
        if (strstr(detail, "does not match target host name") || strstr(detail, "not match"))
                snprintf(reason, size, "certificate is not for this host name (%s)", detail);
        else if (strstr(detail, "expired"))
                snprintf(reason, size, "certificate expired (%s)", detail);
        else if (strstr(detail, "not activated") || strstr(detail, "not yet"))
                snprintf(reason, size, "certificate not yet valid (%s)", detail);
        else if (strstr(detail, "revoked"))
                snprintf(reason, size, "certificate revoked (%s)", detail);
        else if (strstr(detail, "not trusted") || strstr(detail, "signer") || strstr(detail, "issuer") ||
                 strstr(detail, "verification failed"))
                snprintf(reason, size, "certificate not trusted (unknown CA; %s)", detail);
        else
                snprintf(reason, size, "certificate not accepted (%s)", detail);
}

/* Our stall timer fired (stall), or curl gave up connecting or on the whole transfer. */
static void timeout_reason(HttpRequest *req, bool stall, char *reason, size_t size) {
        curl_off_t length = -1, connected = 0;

        (void) curl_easy_getinfo(req->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        (void) curl_easy_getinfo(req->easy, CURLINFO_PRETRANSFER_TIME_T, &connected);
        if (!stall && connected == 0)
                snprintf(reason, size, "connection timed out after %u s", req->connect_s);
        else if (!stall)
                snprintf(reason, size, "took too long (%s)", req->errbuf);
        else if (req->size > 0 && length > 0)
                snprintf(reason, size, "stalled for %u s mid-body (%zu of %lld bytes)", req->stall_s, req->size,
                         (long long) length);
        else if (req->size > 0)
                snprintf(reason, size, "stalled for %u s mid-body (after %zu bytes)", req->stall_s, req->size);
        else if (req->got_status)
                snprintf(reason, size, "stalled for %u s before the body", req->stall_s);
        else
                snprintf(reason, size, "no answer for %u s", req->stall_s);
}

static int error_from_curl(HttpRequest *req, CURLcode code, char *reason, size_t size) {
        const char *detail = req->errbuf[0] ? req->errbuf : curl_easy_strerror(code);

        switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                snprintf(reason, size, "cannot resolve the host name (%s)", detail);
                return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                snprintf(reason, size, "cannot connect (%s)", detail);
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                timeout_reason(req, false, reason, size);
                return -ETIMEDOUT;
        case CURLE_PEER_FAILED_VERIFICATION:
                tls_reason(detail, reason, size);
                return -EPERM;
        case CURLE_SSL_CACERT_BADFILE:
                snprintf(reason, size, "cannot load the trusted CAs (%s)", detail);
                return -ENOKEY;
        case CURLE_SSL_CERTPROBLEM:
                snprintf(reason, size, "cannot use the device certificate (%s)", detail);
                return -ENOKEY;
        case CURLE_SSL_CONNECT_ERROR:
                snprintf(reason, size, "TLS handshake failed (%s)", detail);
                return -EPROTO;
        case CURLE_PARTIAL_FILE:
                snprintf(reason, size, "truncated: the connection closed after %zu bytes (%s)", req->size, detail);
                return -EPIPE;
        case CURLE_WRITE_ERROR:
                if (req->too_large) {
                        snprintf(reason, size, "larger than %zu bytes", req->max_size);
                        return -EFBIG;
                }
                snprintf(reason, size, "out of memory");
                return -ENOMEM;
        case CURLE_TOO_MANY_REDIRECTS:
                snprintf(reason, size, "too many redirects");
                return -ELOOP;
        case CURLE_LOGIN_DENIED:
                snprintf(reason, size, "login denied (wrong user name or password?)");
                return -EACCES;
        case CURLE_UNSUPPORTED_PROTOCOL:
                snprintf(reason, size, "unsupported protocol (%s)", detail);
                return -EPROTONOSUPPORT;
        case CURLE_URL_MALFORMAT:
                snprintf(reason, size, "malformed URL");
                return -EINVAL;
        case CURLE_GOT_NOTHING:
                snprintf(reason, size, "the server closed the connection without answering");
                return -ECONNRESET;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
                snprintf(reason, size, "connection failed (%s)", detail);
                return -ECONNRESET;
        default:
                snprintf(reason, size, "%s", detail);
                return -EIO;
        }
}

/* ---- completion ---- */

static bool code_is_not_found(CURLcode code) {
        return code == CURLE_REMOTE_FILE_NOT_FOUND || code == CURLE_TFTP_NOTFOUND;
}

static void request_finish(HttpRequest *req, CURLcode code) {
        HttpResponse response = {};
        char reason[512] = "";
        int error = 0;

        if (code == CURLE_OK || (!req->http && code_is_not_found(code))) {
                long status = 0;
                (void) curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
                if (!req->http)
                        status = code == CURLE_OK ? 200 : 404;
                response = (HttpResponse) {
                        .status = status,
                        .body = req->body ?: strdup(""),
                        .size = req->size,
                        .etag = req->etag,
                        .last_modified = req->last_modified,
                        .retry_after_s = req->retry_after_s,
                };
                req->body = req->etag = req->last_modified = NULL;
                if (!response.body) {
                        error = -ENOMEM;
                        snprintf(reason, sizeof(reason), "out of memory");
                }
        } else
                error = error_from_curl(req, code, reason, sizeof(reason));

        req->done(req, error, error < 0 ? NULL : &response, reason, req->userdata);
        free(response.body);
        free(response.etag);
        free(response.last_modified);
        request_free(req);
}

/*
 * Stalls are ours to see: curl's low-speed check averages the speed over
 * seconds, so a server that stops mid-body would fail only after 5 s more
 * than asked. Nothing received for stall_s once connected: fail.
 */
static int on_stall_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        HttpRequest *req = userdata;
        curl_off_t connected = 0;
        uint64_t now = now_usec(), stall = (uint64_t) req->stall_s * 1000000ULL;
        char reason[512];

        /* connected (PRETRANSFER: also set for a reused connection, whose connect time is 0) */
        (void) curl_easy_getinfo(req->easy, CURLINFO_PRETRANSFER_TIME_T, &connected);
        if (req->got_status || req->tftp)
                connected = 1;
        if (connected == 0 || now - req->last_progress < stall) {
                uint64_t next = connected == 0 ? now + 100000ULL : req->last_progress + stall;
                (void) sd_event_source_set_time(s, next);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        timeout_reason(req, true, reason, sizeof(reason));
        req->done(req, -ETIMEDOUT, NULL, reason, req->userdata);
        request_free(req);
        return 0;
}

static void client_check_done(HttpClient *c) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(c->multi, &left))) {
                HttpRequest *req = NULL;
                if (msg->msg != CURLMSG_DONE)
                        continue;
                (void) curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &req);
                if (req)
                        request_finish(req, msg->data.result);
        }
}

/* ---- curl on sd-event ---- */

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HttpClient *c = userdata;
        int action = 0, running;

        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;
        (void) curl_multi_socket_action(c->multi, fd, action, &running);
        client_check_done(c);
        return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        HttpClient *c = userp;
        sd_event_source *s = socketp;
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                if (s) {
                        (void) curl_multi_assign(c->multi, fd, NULL);
                        sd_event_source_disable_unref(s);
                }
                return 0;
        }
        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;
        if (s)
                return sd_event_source_set_io_events(s, events) < 0 ? -1 : 0;
        if (sd_event_add_io(c->event, &s, fd, events, on_io, c) < 0)
                return -1;
        (void) sd_event_source_set_description(s, "curl-socket");
        if (curl_multi_assign(c->multi, fd, s) != CURLM_OK) {
                sd_event_source_disable_unref(s);
                return -1;
        }
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        HttpClient *c = userdata;
        int running;

        (void) curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        client_check_done(c);
        return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
        HttpClient *c = userp;

        if (timeout_ms < 0)
                return c->timer ? (sd_event_source_set_enabled(c->timer, SD_EVENT_OFF) < 0 ? -1 : 0) : 0;
        uint64_t usec = (uint64_t) timeout_ms * 1000;
        if (!c->timer) {
                if (sd_event_add_time_relative(c->event, &c->timer, CLOCK_MONOTONIC, usec, 0, on_timer, c) < 0)
                        return -1;
                (void) sd_event_source_set_description(c->timer, "curl-timer");
                return 0;
        }
        if (sd_event_source_set_time_relative(c->timer, usec) < 0 ||
            sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

/* Debian's libcurl-gnutls has no CA file but the directory /etc/ssl/certs; others the reverse. */
static int query_defaults(HttpClient *c) {
        CURL *e = curl_easy_init();
        char *cainfo = NULL, *capath = NULL;

        if (!e)
                return -ENOMEM;
        (void) curl_easy_getinfo(e, CURLINFO_CAINFO, &cainfo);
        (void) curl_easy_getinfo(e, CURLINFO_CAPATH, &capath);
        c->default_cainfo = cainfo ? strdup(cainfo) : NULL;
        c->default_capath = capath ? strdup(capath) : NULL;
        curl_easy_cleanup(e);
        if ((cainfo && !c->default_cainfo) || (capath && !c->default_capath))
                return -ENOMEM;
        return 0;
}

int http_client_new(sd_event *event, HttpClient **ret) {
        static bool initialized;

        if (!initialized) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -EIO;
                initialized = true;
        }
        _cleanup_(http_client_freep) HttpClient *c = calloc(1, sizeof(HttpClient));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->multi = curl_multi_init();
        if (!c->multi)
                return -ENOMEM;
        if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK)
                return -EIO;
        int r = query_defaults(c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

HttpClient *http_client_free(HttpClient *c) {
        if (!c)
                return NULL;
        while (c->requests)
                request_free(c->requests);
        if (c->multi)
                curl_multi_cleanup(c->multi); /* removes the sockets' sources through on_curl_socket */
        sd_event_source_disable_unref(c->timer);
        sd_event_unref(c->event);
        free(c->default_cainfo);
        free(c->default_capath);
        free(c);
        return NULL;
}

/* ---- options ---- */

/*
 * The trusted set. Custom only: our file, nothing of the system's. Both: the
 * system's as this libcurl finds them, plus ours beside them in the other
 * option (a file beside the system's directory, or our directory beside the
 * system's file), since each option holds one place.
 */
static CURLcode set_cas(HttpClient *c, CURL *e, const HttpRequestOptions *o) {
        CURLcode k = CURLE_OK;

        switch (o->ca_set) {
        case HTTP_CA_SYSTEM:
                break;
        case HTTP_CA_CUSTOM:
                k = curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
                if (k == CURLE_OK)
                        k = curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
                break;
        case HTTP_CA_BOTH:
                if (c->default_cainfo && !c->default_capath)
                        k = curl_easy_setopt(e, CURLOPT_CAPATH, o->ca_dir);
                else
                        k = curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
                break;
        }
        return k;
}

static int set_tls(HttpClient *c, CURL *e, const HttpRequestOptions *o) {
        CURLcode k = curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->verify_peer ? 1L : 0L);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->verify_host ? 2L : 0L);
        if (k == CURLE_OK)
                k = set_cas(c, e, o);
        if (k == CURLE_OK && o->client_cert) {
                k = curl_easy_setopt(e, CURLOPT_SSLCERT, o->client_cert);
                if (k == CURLE_OK)
                        k = curl_easy_setopt(e, CURLOPT_SSLKEY, o->client_cert);
        }
        return k == CURLE_OK ? 0 : -EINVAL;
}

static int add_header(HttpRequest *req, const char *name, const char *value) {
        _cleanup_(freep) char *h = strjoin(name, ": ", value, NULL);
        if (!h)
                return -ENOMEM;
        struct curl_slist *l = curl_slist_append(req->headers, h);
        if (!l)
                return -ENOMEM;
        req->headers = l;
        return 0;
}

static int set_http(HttpRequest *req, const HttpRequestOptions *o) {
        CURL *e = req->easy;
        CURLcode k = CURLE_OK;
        int r = 0;

        if (o->if_none_match)
                r = add_header(req, "If-None-Match", o->if_none_match);
        if (r >= 0 && o->if_modified_since)
                r = add_header(req, "If-Modified-Since", o->if_modified_since);
        if (r < 0)
                return r;
        if (req->headers)
                k = curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
        if (k == CURLE_OK && o->username && *o->username) {
                k = curl_easy_setopt(e, CURLOPT_USERNAME, o->username);
                if (k == CURLE_OK)
                        k = curl_easy_setopt(e, CURLOPT_PASSWORD, strempty(o->password));
                if (k == CURLE_OK)
                        k = curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long) (CURLAUTH_BASIC | CURLAUTH_DIGEST));
        }
        /* never follow an https URL to a plain one */
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
                                     startswith(o->url, "https:") ? "https" : "http,https");
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
        return k == CURLE_OK ? 0 : -EINVAL;
}

/* FTP: a login (curl logs in anonymously without one), and a new connection for each
 * file: this libcurl (7.88) on the multi socket interface, on a kept FTP connection,
 * may never start a later transfer's passive data connection ("Connecting to ..." and
 * nothing until the connect timeout). TFTP has neither. */
static int set_ftp(HttpRequest *req, const HttpRequestOptions *o) {
        if (req->tftp)
                return 0;
        CURLcode k = curl_easy_setopt(req->easy, CURLOPT_FORBID_REUSE, 1L);
        if (k == CURLE_OK && o->username && *o->username) {
                k = curl_easy_setopt(req->easy, CURLOPT_USERNAME, o->username);
                if (k == CURLE_OK)
                        k = curl_easy_setopt(req->easy, CURLOPT_PASSWORD, strempty(o->password));
        }
        return k == CURLE_OK ? 0 : -EINVAL;
}

static size_t on_read(char *buffer, size_t size, size_t n, void *userdata) {
        HttpRequest *req = userdata;
        size_t len = MIN(size * n, req->upload_size - req->upload_pos);

        req->last_progress = now_usec();
        memcpy(buffer, req->upload + req->upload_pos, len);
        req->upload_pos += len;
        return len;
}

/* curl rewinds to send the body again (after an authentication challenge). */
static int on_seek(void *userdata, curl_off_t offset, int origin) {
        HttpRequest *req = userdata;

        if (origin != SEEK_SET || offset < 0 || (size_t) offset > req->upload_size)
                return CURL_SEEKFUNC_CANTSEEK;
        req->upload_pos = (size_t) offset;
        return CURL_SEEKFUNC_OK;
}

static int set_post_form(HttpRequest *req, const HttpUpload *u) {
        curl_mimepart *part;

        req->mime = curl_mime_init(req->easy);
        if (!req->mime || !(part = curl_mime_addpart(req->mime)))
                return -ENOMEM;
        if (curl_mime_name(part, "file") != CURLE_OK ||
            curl_mime_filename(part, u->file_name) != CURLE_OK ||
            curl_mime_type(part, "text/plain") != CURLE_OK ||
            curl_mime_data_cb(part, (curl_off_t) u->size, on_read, on_seek, NULL, req) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_MIMEPOST, req->mime) != CURLE_OK)
                return -EINVAL;
        return 0;
}

static int set_upload(HttpRequest *req, const HttpUpload *u) {
        CURL *e = req->easy;

        req->upload = malloc(u->size + 1);
        if (!req->upload)
                return -ENOMEM;
        memcpy(req->upload, u->body, u->size);
        req->upload_size = u->size;
        if (req->http) {
                /* no "Expect: 100-continue" round trip for a small file */
                struct curl_slist *l = curl_slist_append(req->headers, "Expect:");
                if (!l)
                        return -ENOMEM;
                req->headers = l;
                if (curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers) != CURLE_OK)
                        return -EINVAL;
        }
        if (req->http && u->post)
                return set_post_form(req, u);
        CURLcode k = curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_READDATA, req);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_SEEKDATA, req);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t) u->size);
        return k == CURLE_OK ? 0 : -EINVAL;
}

static int set_common(HttpRequest *req, const HttpRequestOptions *o) {
        CURL *e = req->easy;
        CURLcode k = curl_easy_setopt(e, CURLOPT_URL, o->url);

        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_PRIVATE, req);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,ftp,ftps,tftp");
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long) o->connect_timeout_s);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_TIMEOUT, (long) o->total_timeout_s);
        if (k == CURLE_OK && o->user_agent)
                k = curl_easy_setopt(e, CURLOPT_USERAGENT, o->user_agent);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        if (k == CURLE_OK)
                k = curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
        return k == CURLE_OK ? 0 : -EINVAL;
}

static int request_start(HttpClient *c, const HttpRequestOptions *o, const HttpUpload *u, HttpDoneCallback done,
                         void *userdata, HttpRequest **ret) {
        HttpRequest *req = calloc(1, sizeof(HttpRequest));
        if (!req)
                return -ENOMEM;
        *req = (HttpRequest) {
                .client = c,
                .done = done,
                .userdata = userdata,
                .max_size = o->max_size,
                .stall_s = o->stall_timeout_s,
                .connect_s = o->connect_timeout_s,
                .http = startswith(o->url, "http:") || startswith(o->url, "https:") ||
                        startswith(o->url, "HTTP:") || startswith(o->url, "HTTPS:"),
                .tftp = startswith(o->url, "tftp:") || startswith(o->url, "TFTP:"),
                .next = c->requests,
        };
        if (c->requests)
                c->requests->prev = req;
        c->requests = req;

        req->easy = curl_easy_init();
        int r = req->easy ? 0 : -ENOMEM;
        if (r >= 0)
                r = set_common(req, o);
        if (r >= 0 && req->http)
                r = set_http(req, o);
        if (r >= 0 && !req->http)
                r = set_ftp(req, o);
        if (r >= 0 && u)
                r = set_upload(req, u);
        if (r >= 0)
                r = set_tls(c, req->easy, o);
        req->last_progress = now_usec();
        if (r >= 0 && o->stall_timeout_s > 0)
                r = sd_event_add_time(c->event, &req->stall_timer, CLOCK_MONOTONIC,
                                      req->last_progress + (uint64_t) o->stall_timeout_s * 1000000ULL, 100000ULL,
                                      on_stall_timer, req);
        if (r >= 0 && curl_multi_add_handle(c->multi, req->easy) != CURLM_OK)
                r = -EIO;
        if (r < 0) {
                request_free(req);
                return r;
        }
        if (ret)
                *ret = req;
        return 0;
}

int http_get(HttpClient *c, const HttpRequestOptions *o, HttpDoneCallback done, void *userdata,
             HttpRequest **ret) {
        return request_start(c, o, NULL, done, userdata, ret);
}

int http_upload(HttpClient *c, const HttpRequestOptions *o, const HttpUpload *u, HttpDoneCallback done,
                void *userdata, HttpRequest **ret) {
        return request_start(c, o, u, done, userdata, ret);
}
