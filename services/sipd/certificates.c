/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Certificates from provd: GetTrustedCertificates and GetDeviceCertificate,
 * both asked at once; when both have answered, the result replaces what we
 * had (if it differs) and the manager hears of it. A provd without the
 * interface, or without a device certificate, means none: TLS then goes on
 * with the system CAs and without a device certificate.
 */
#include "certificates.h"
#include "log.h"
#include "util.h"

#define CERTS_NAME "org.deskphone.Config1"
#define CERTS_PATH "/org/deskphone/Certificates1"
#define CERTS_IFACE "org.deskphone.Certificates1"
#define CERTS_TIMEOUT_MS 10000
#define CERTS_CA_MAX 64
#define CERTS_PEM_MAX (128U * 1024)

typedef struct CertSet {
        gnutls_datum_t *cas;
        size_t n_cas;
        gnutls_datum_t cert, key;
} CertSet;

struct Certificates {
        Manager *manager;
        Bus *bus;
        int match;
        CertSet current;
        CertSet next;           /* being fetched */
        unsigned pending;       /* answers awaited */
        bool refetch;
        bool ready;
        unsigned generation;
};

static void datum_free(gnutls_datum_t *d, bool secret) {
        if (d->data && secret)
                explicit_bzero(d->data, d->size);
        free(d->data);
        *d = (gnutls_datum_t) {};
}

static void cert_set_done(CertSet *s) {
        for (size_t i = 0; i < s->n_cas; i++)
                datum_free(&s->cas[i], false);
        free(s->cas);
        datum_free(&s->cert, false);
        datum_free(&s->key, true);
        *s = (CertSet) {};
}

static bool datum_equal(const gnutls_datum_t *a, const gnutls_datum_t *b) {
        return a->size == b->size && (a->size == 0 || memcmp(a->data, b->data, a->size) == 0);
}

static bool cert_set_equal(const CertSet *a, const CertSet *b) {
        if (a->n_cas != b->n_cas || !datum_equal(&a->cert, &b->cert) || !datum_equal(&a->key, &b->key))
                return false;
        for (size_t i = 0; i < a->n_cas; i++)
                if (!datum_equal(&a->cas[i], &b->cas[i]))
                        return false;
        return true;
}

/* A copy of an ay argument, NUL-terminated (GnuTLS takes PEM with or without). */
static int read_bytes(DBusMessageIter *iter, gnutls_datum_t *ret) {
        DBusMessageIter array;
        const char *data;
        int n = 0;

        if (dbus_message_iter_get_arg_type(iter) != DBUS_TYPE_ARRAY ||
            dbus_message_iter_get_element_type(iter) != DBUS_TYPE_BYTE)
                return -EBADMSG;
        dbus_message_iter_recurse(iter, &array);
        dbus_message_iter_get_fixed_array(&array, &data, &n);
        if ((unsigned) n > CERTS_PEM_MAX)
                return -E2BIG;
        unsigned char *copy = malloc((size_t) n + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, (size_t) n);
        copy[n] = 0;
        *ret = (gnutls_datum_t) { .data = copy, .size = (unsigned) n };
        dbus_message_iter_next(iter);
        return 0;
}

/* a(say): the names are for provd's listing; we keep the PEM. */
static int read_cas(DBusMessage *reply, CertSet *s) {
        DBusMessageIter iter, array, st;

        if (!dbus_message_iter_init(reply, &iter) || !streq(dbus_message_get_signature(reply), "a(say)"))
                return -EBADMSG;
        dbus_message_iter_recurse(&iter, &array);
        while (dbus_message_iter_get_arg_type(&array) == DBUS_TYPE_STRUCT) {
                if (s->n_cas >= CERTS_CA_MAX)
                        return -E2BIG;
                gnutls_datum_t *l = realloc(s->cas, (s->n_cas + 1) * sizeof(gnutls_datum_t));
                if (!l)
                        return -ENOMEM;
                s->cas = l;
                dbus_message_iter_recurse(&array, &st);
                dbus_message_iter_next(&st);            /* the name */
                int r = read_bytes(&st, &s->cas[s->n_cas]);
                if (r < 0)
                        return r;
                s->n_cas++;
                dbus_message_iter_next(&array);
        }
        return 0;
}

static int read_device(DBusMessage *reply, CertSet *s) {
        DBusMessageIter iter;

        if (!dbus_message_iter_init(reply, &iter) || !streq(dbus_message_get_signature(reply), "ayay"))
                return -EBADMSG;
        int r = read_bytes(&iter, &s->cert);
        if (r >= 0)
                r = read_bytes(&iter, &s->key);
        return r;
}

static void answered(Certificates *c) {
        if (--c->pending > 0)
                return;
        bool first = !c->ready, same = cert_set_equal(&c->current, &c->next);
        c->ready = true;
        if (!same) {
                cert_set_done(&c->current);
                c->current = c->next;
                c->next = (CertSet) {};
                c->generation++;
                log_info("Certificates from provd: %zu custom CA(s), %s device certificate", c->current.n_cas,
                         c->current.cert.size > 0 ? "a" : "no");
        } else
                cert_set_done(&c->next);
        if (first || !same)
                manager_on_certificates(c->manager);
        if (c->refetch) {
                c->refetch = false;
                certificates_fetch(c);
        }
}

static void on_trusted(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        Certificates *c = userdata;

        if (error >= 0)
                error = read_cas(reply, &c->next);
        if (error < 0 && error != -ENOENT)
                log_warning_errno(error, "Cannot read the custom CAs from provd, using none: %m");
        if (error < 0) {
                for (size_t i = 0; i < c->next.n_cas; i++)
                        datum_free(&c->next.cas[i], false);
                c->next.n_cas = 0;
        }
        answered(c);
}

static void on_device(Bus *bus, DBusMessage *reply, int error, void *userdata) {
        Certificates *c = userdata;

        if (error >= 0)
                error = read_device(reply, &c->next);
        if (error < 0 && error != -ENOENT)
                log_warning_errno(error, "Cannot read the device certificate from provd, using none: %m");
        if (error < 0) {
                datum_free(&c->next.cert, false);
                datum_free(&c->next.key, true);
        }
        answered(c);
}

static int ask(Certificates *c, const char *member, BusReplyCallback cb) {
        DBusMessage *m = dbus_message_new_method_call(CERTS_NAME, CERTS_PATH, CERTS_IFACE, member);
        if (!m)
                return -ENOMEM;
        int r = bus_call_async(c->bus, m, CERTS_TIMEOUT_MS, cb, c);
        dbus_message_unref(m);
        if (r >= 0)
                c->pending++;
        return r;
}

void certificates_fetch(Certificates *c) {
        if (c->pending > 0) {
                c->refetch = true;
                return;
        }
        cert_set_done(&c->next);
        c->pending++;   /* held while asking: answers cannot complete the fetch early */
        int r = ask(c, "GetTrustedCertificates", on_trusted);
        if (r >= 0)
                r = ask(c, "GetDeviceCertificate", on_device);
        if (r < 0)
                log_warning_errno(r, "Cannot ask provd for the certificates: %m");
        answered(c);
}

static void on_changed(Bus *bus, DBusMessage *msg, void *userdata) {
        log_debug("Certificates changed, fetching them");
        certificates_fetch(userdata);
}

int certificates_new(Manager *m, Bus *bus, Certificates **ret) {
        Certificates *c = calloc(1, sizeof(Certificates));

        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->bus = bus;
        c->match = bus_add_match_signal(bus, CERTS_NAME, CERTS_PATH, CERTS_IFACE, "CertificatesChanged", on_changed,
                                        c);
        if (c->match < 0) {
                int r = c->match;
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

Certificates *certificates_free(Certificates *c) {
        if (!c)
                return NULL;
        /* replies still pending point here: they are dropped with the bus (freed first) */
        bus_remove_match(c->bus, c->match);
        cert_set_done(&c->current);
        cert_set_done(&c->next);
        free(c);
        return NULL;
}

bool certificates_ready(const Certificates *c) {
        return c && c->ready;
}

unsigned certificates_generation(const Certificates *c) {
        return c ? c->generation : 0;
}

void certificates_get(const Certificates *c, const gnutls_datum_t **ret_cas, size_t *ret_n_cas,
                      gnutls_datum_t *ret_cert, gnutls_datum_t *ret_key) {
        *ret_cas = c ? c->current.cas : NULL;
        *ret_n_cas = c ? c->current.n_cas : 0;
        *ret_cert = c ? c->current.cert : (gnutls_datum_t) {};
        *ret_key = c ? c->current.key : (gnutls_datum_t) {};
}
