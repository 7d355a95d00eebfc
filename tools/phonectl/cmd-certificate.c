/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <time.h>

#include "phonectl.h"
#include "util.h"

/* The Certificates1 commands: provd's custom CAs and the device certificate. */

#define CERTIFICATES_PATH "/org/deskphone/Certificates1"
#define CERTIFICATES_IFACE "org.deskphone.Certificates1"
#define CERT_FILE_MAX (1024U * 1024) /* provd refuses more than 64 kB, and says so */

static int read_pem(const char *path, char **ret, size_t *ret_size) {
        int r = read_full_file(path, ret, ret_size, CERT_FILE_MAX);
        if (r == -EFBIG)
                return phonectl_error(r, "%s is larger than 1 MiB.", path);
        if (r < 0)
                return phonectl_error(r, "Failed to read %s: %m", path);
        return 0;
}

static int append_bytes(DBusMessage *m, const char *data, size_t size) {
        return dbus_message_append_args(m, DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE, &data, (int) size, DBUS_TYPE_INVALID)
                       ? 0
                       : -ENOMEM;
}

static int certificates_call(Context *ctx, DBusMessage *m, const char *signature, DBusMessage **ret_reply) {
        _cleanup_(message_unrefp) DBusMessage *reply = NULL;

        int r = bus_call(ctx, m, ctx_call_timeout_ms(ctx), &reply);
        if (r >= 0)
                r = bus_check_signature(reply, signature);
        if (r >= 0 && ret_reply)
                *ret_reply = TAKE_PTR(reply);
        return r;
}

/* install-ca FILE [NAME] */
int verb_certificate_install_ca(Context *ctx, int argc, char **argv) {
        _cleanup_(message_unrefp) DBusMessage *m = bus_new_call(CONFIG_NAME, CERTIFICATES_PATH, CERTIFICATES_IFACE,
                                                                "InstallCa");
        _cleanup_(message_unrefp) DBusMessage *reply = NULL;
        _cleanup_(freep) char *pem = NULL;
        const char *name = argc > 2 ? argv[2] : "", *installed;
        size_t size;

        int r = read_pem(argv[1], &pem, &size);
        if (r < 0)
                return r;
        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID) ||
            append_bytes(m, pem, size) < 0)
                return oom();
        r = certificates_call(ctx, m, "s", &reply);
        if (r < 0)
                return r;
        if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &installed, DBUS_TYPE_INVALID))
                return oom(); /* the signature was checked */
        printf("%s\n", installed);
        return 0;
}

int verb_certificate_remove_ca(Context *ctx, int argc, char **argv) {
        _cleanup_(message_unrefp) DBusMessage *m = bus_new_call(CONFIG_NAME, CERTIFICATES_PATH, CERTIFICATES_IFACE,
                                                                "RemoveCa");

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &argv[1], DBUS_TYPE_INVALID))
                return oom();
        return certificates_call(ctx, m, "", NULL);
}

int verb_certificate_install_device(Context *ctx, int argc, char **argv) {
        _cleanup_(message_unrefp) DBusMessage *m = bus_new_call(CONFIG_NAME, CERTIFICATES_PATH, CERTIFICATES_IFACE,
                                                                "InstallDevice");
        _cleanup_(freep) char *cert = NULL;
        _cleanup_(erase_and_freep) char *key = NULL;
        size_t cert_size, key_size;

        int r = read_pem(argv[1], &cert, &cert_size);
        if (r >= 0)
                r = read_pem(argv[2], &key, &key_size);
        if (r < 0)
                return r;
        if (!m || append_bytes(m, cert, cert_size) < 0 || append_bytes(m, key, key_size) < 0)
                return oom();
        return certificates_call(ctx, m, "", NULL);
}

typedef struct CaRow {
        const char *name, *subject, *issuer;
        int64_t not_after;
} CaRow;

static void format_time(int64_t t, char *buf, size_t size) {
        time_t tt = (time_t) t;
        struct tm tm;

        if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(buf, size, "%lld", (long long) t);
}

static void print_row(JsonWriter *w, const CaRow *c) {
        char when[64];

        format_time(c->not_after, when, sizeof(when));
        if (!w) {
                printf("%-24s %-23s %s\n", c->name, when, c->subject);
                return;
        }
        json_begin_object(w);
        json_key(w, "name");
        json_string(w, c->name);
        json_key(w, "subject");
        json_string(w, c->subject);
        json_key(w, "issuer");
        json_string(w, c->issuer);
        json_key(w, "not_after");
        json_int(w, c->not_after);
        json_end_object(w);
}

int verb_certificate_list(Context *ctx, int argc, char **argv) {
        _cleanup_(message_unrefp) DBusMessage *m = bus_new_call(CONFIG_NAME, CERTIFICATES_PATH, CERTIFICATES_IFACE,
                                                                "ListCa");
        _cleanup_(message_unrefp) DBusMessage *reply = NULL;
        JsonWriter w = JSON_WRITER_INIT(stdout);
        DBusMessageIter iter, array, st;

        if (!m)
                return oom();
        int r = certificates_call(ctx, m, "a(sssx)", &reply);
        if (r < 0)
                return r;
        if (ctx->json)
                json_begin_array(&w);
        else
                printf("%-24s %-23s %s\n", "NAME", "NOT AFTER", "SUBJECT");
        dbus_message_iter_init(reply, &iter);
        dbus_message_iter_recurse(&iter, &array);
        for (; dbus_message_iter_get_arg_type(&array) == DBUS_TYPE_STRUCT; dbus_message_iter_next(&array)) {
                CaRow c;
                dbus_int64_t t;

                dbus_message_iter_recurse(&array, &st);
                dbus_message_iter_get_basic(&st, &c.name);
                dbus_message_iter_next(&st);
                dbus_message_iter_get_basic(&st, &c.subject);
                dbus_message_iter_next(&st);
                dbus_message_iter_get_basic(&st, &c.issuer);
                dbus_message_iter_next(&st);
                dbus_message_iter_get_basic(&st, &t);
                c.not_after = t;
                print_row(ctx->json ? &w : NULL, &c);
        }
        if (ctx->json) {
                json_end_array(&w);
                json_finish(&w);
        }
        return 0;
}
