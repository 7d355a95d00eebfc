/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

/*
 * HTTP(S), FTP and TFTP downloads with libcurl (its GnuTLS build), driven by
 * curl's multi interface on sd-event: curl tells us which sockets to watch
 * and when to wake it (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION), so nothing
 * ever blocks the loop. This file is the only one that sees libcurl's types
 * and error codes; it hands back a negative errno and a sentence.
 */

typedef struct HttpClient HttpClient;
typedef struct HttpRequest HttpRequest;

typedef enum HttpCaSet {
        HTTP_CA_SYSTEM,  /* libcurl's default bundle (the system's trust store) */
        HTTP_CA_CUSTOM,  /* only the PEM files in ca_dir */
        HTTP_CA_BOTH,
} HttpCaSet;

typedef struct HttpRequestOptions {
        const char *url;
        const char *username;          /* NULL: none (or the URL's user info) */
        const char *password;
        const char *user_agent;
        const char *if_none_match;     /* an ETag of an earlier answer, or NULL */
        const char *if_modified_since; /* a Last-Modified of an earlier answer, or NULL */
        bool verify_peer;              /* the chain must end in a trusted CA */
        bool verify_host;              /* the certificate must name the host */
        HttpCaSet ca_set;
        const char *ca_dir;            /* custom CAs: a directory of PEM files ... */
        const char *ca_file;           /* ... and the same in one file (HTTP_CA_CUSTOM, HTTP_CA_BOTH) */
        const char *client_cert;       /* PEM with certificate and key for mutual TLS, or NULL */
        unsigned connect_timeout_s;
        unsigned stall_timeout_s;      /* no byte for this long: fail */
        unsigned total_timeout_s;
        size_t max_size;               /* larger bodies fail with -EFBIG */
} HttpRequestOptions;

typedef struct HttpResponse {
        long status;           /* HTTP status; other protocols: 200 found, 404 not found */
        char *body;            /* NUL-terminated (not counted in size); callers may take it */
        size_t size;
        char *etag;            /* NULL when the server sent none */
        char *last_modified;
        uint64_t retry_after_s; /* 0: none */
} HttpResponse;

/* error: 0 when the server answered (any status), else a negative errno with a reason
 * ("certificate not trusted (unknown CA)", "stalled for 10 s mid-body (512 of 1024
 * bytes)", "connection refused"), and response is NULL. The request is freed after the
 * callback returns. */
typedef void (*HttpDoneCallback)(HttpRequest *req, int error, HttpResponse *response, const char *reason,
                                 void *userdata);

int http_client_new(sd_event *event, HttpClient **ret);
/* Cancels what is still running, without callbacks. */
HttpClient *http_client_free(HttpClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpClient *, http_client_free);

int http_get(HttpClient *c, const HttpRequestOptions *o, HttpDoneCallback done, void *userdata,
             HttpRequest **ret);
/* What http_upload() sends. HTTP(S): PUT of the body to the URL, or with post a POST of a
 * multipart/form-data form whose part "file" holds it (named file_name); FTP(S) and TFTP
 * store it as the URL's file. The body is copied, and erased when the request ends. */
typedef struct HttpUpload {
        const char *body;
        size_t size;
        bool post;
        const char *file_name;
} HttpUpload;

/* Like http_get(); the response is the server's answer to the upload (other protocols:
 * status 200 when stored). */
int http_upload(HttpClient *c, const HttpRequestOptions *o, const HttpUpload *u, HttpDoneCallback done,
                void *userdata, HttpRequest **ret);
/* Stop a request; its callback is not called. NULL is fine. */
void http_request_cancel(HttpRequest *req);
