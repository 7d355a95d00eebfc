/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.deskphone.Certificates1 at /org/deskphone/Certificates1, on provd's
 * connection (reached through org.deskphone.Config1): the custom CAs and the
 * device certificate of certstore.c. Writing needs what Config1.Set needs
 * (provd_authorize()); the device's private key goes only to the owner of
 * org.deskphone.Sip1, as account passwords do.
 */
#include "certstore.h"
#include "log.h"
#include "provd.h"
#include "util.h"

#define SIP1_NAME "org.deskphone.Sip1"

static int read_bytes(DBusMessageIter *iter, const char **ret, size_t *ret_size) {
        DBusMessageIter array;
        int n = 0;

        if (dbus_message_iter_get_arg_type(iter) != DBUS_TYPE_ARRAY ||
            dbus_message_iter_get_element_type(iter) != DBUS_TYPE_BYTE)
                return -EINVAL;
        dbus_message_iter_recurse(iter, &array);
        dbus_message_iter_get_fixed_array(&array, ret, &n);
        *ret_size = (size_t) n;
        dbus_message_iter_next(iter);
        return 0;
}

static int append_bytes(DBusMessageIter *iter, const char *data, size_t size) {
        DBusMessageIter array;

        return dbus_message_iter_open_container(iter, DBUS_TYPE_ARRAY, "y", &array) &&
                               dbus_message_iter_append_fixed_array(&array, DBUS_TYPE_BYTE, &data, (int) size) &&
                               dbus_message_iter_close_container(iter, &array)
                       ? 0
                       : -ENOMEM;
}

/* Send the reply built so far (r >= 0), free it either way. */
static int reply_and_unref(Bus *bus, DBusMessage *reply, int r) {
        if (r >= 0)
                r = bus_reply_message(bus, reply);
        if (reply)
                dbus_message_unref(reply);
        return r;
}

void certstore_bus_changed(Provd *p) {
        int r = bus_emit_signal(p->bus, PROVD_CERTIFICATES_PATH, provd_certificates_interface.name,
                                "CertificatesChanged", DBUS_TYPE_INVALID);
        if (r < 0)
                log_warning_errno(r, "Failed to send CertificatesChanged: %m");
}

/* ---- writing (authorized) ---- */

static int do_install_ca(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        _cleanup_(freep) char *installed = NULL;
        DBusMessageIter iter;
        const char *name, *pem;
        size_t size;
        char reason[256] = "";

        if (!dbus_message_iter_init(m, &iter) || dbus_message_iter_get_arg_type(&iter) != DBUS_TYPE_STRING)
                return -EINVAL;
        dbus_message_iter_get_basic(&iter, &name);
        dbus_message_iter_next(&iter);
        if (read_bytes(&iter, &pem, &size) < 0)
                return -EINVAL;
        int r = certstore_install_ca(p->certs, name, pem, size, &installed, reason, sizeof(reason));
        if (r < 0)
                return bus_error_set(error, r, "Refused to install the CA: %s", reason[0] ? reason : strerror(-r));
        if (r == 0)
                certstore_bus_changed(p);
        const char *n = installed;
        return bus_reply(bus, m, DBUS_TYPE_STRING, &n, DBUS_TYPE_INVALID);
}

static int do_remove_ca(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        const char *name;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
                return -EINVAL;
        int r = certstore_remove_ca(p->certs, name);
        if (r == -ENOENT)
                return bus_error_set(error, r, "No custom CA named '%s'", name);
        if (r < 0)
                return r;
        certstore_bus_changed(p);
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int do_install_device(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        DBusMessageIter iter;
        const char *cert, *key;
        size_t cert_size, key_size;
        char reason[256] = "";

        if (!dbus_message_iter_init(m, &iter) || read_bytes(&iter, &cert, &cert_size) < 0 ||
            read_bytes(&iter, &key, &key_size) < 0)
                return -EINVAL;
        int r = certstore_install_device(p->certs, cert, cert_size, key, key_size, reason, sizeof(reason));
        if (r < 0)
                return bus_error_set(error, r, "Refused to install the device certificate: %s",
                                     reason[0] ? reason : strerror(-r));
        if (r == 0)
                certstore_bus_changed(p);
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int method_install_ca(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return provd_authorize(bus, m, userdata, do_install_ca, error);
}

static int method_remove_ca(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return provd_authorize(bus, m, userdata, do_remove_ca, error);
}

static int method_install_device(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return provd_authorize(bus, m, userdata, do_install_device, error);
}

/* ---- reading ---- */

static int append_info(DBusMessageIter *array, const CertInfo *c) {
        DBusMessageIter st;
        dbus_int64_t not_after = c->not_after;

        return dbus_message_iter_open_container(array, DBUS_TYPE_STRUCT, NULL, &st) &&
                               dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &c->name) &&
                               dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &c->subject) &&
                               dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &c->issuer) &&
                               dbus_message_iter_append_basic(&st, DBUS_TYPE_INT64, &not_after) &&
                               dbus_message_iter_close_container(array, &st)
                       ? 0
                       : -ENOMEM;
}

static int method_list_ca(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        CertInfo *l = NULL;
        size_t n = 0;
        DBusMessageIter iter, array;

        int r = certstore_list_ca(p->certs, &l, &n);
        if (r < 0)
                return r;
        DBusMessage *reply = dbus_message_new_method_return(m);
        if (reply) {
                dbus_message_iter_init_append(reply, &iter);
                r = dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "(sssx)", &array) ? 0 : -ENOMEM;
                for (size_t i = 0; r >= 0 && i < n; i++)
                        r = append_info(&array, &l[i]);
                if (r >= 0 && !dbus_message_iter_close_container(&iter, &array))
                        r = -ENOMEM;
        } else
                r = -ENOMEM;
        cert_info_free_many(l, n);
        return reply_and_unref(bus, reply, r);
}

static int append_pem(DBusMessageIter *array, const CertPem *c) {
        DBusMessageIter st;

        if (!dbus_message_iter_open_container(array, DBUS_TYPE_STRUCT, NULL, &st) ||
            !dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &c->name) || append_bytes(&st, c->pem, c->size) < 0)
                return -ENOMEM;
        return dbus_message_iter_close_container(array, &st) ? 0 : -ENOMEM;
}

static int method_get_trusted(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        CertPem *l = NULL;
        size_t n = 0;
        DBusMessageIter iter, array;

        int r = certstore_read_cas(p->certs, &l, &n);
        if (r < 0)
                return r;
        DBusMessage *reply = dbus_message_new_method_return(m);
        if (reply) {
                dbus_message_iter_init_append(reply, &iter);
                r = dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "(say)", &array) ? 0 : -ENOMEM;
                for (size_t i = 0; r >= 0 && i < n; i++)
                        r = append_pem(&array, &l[i]);
                if (r >= 0 && !dbus_message_iter_close_container(&iter, &array))
                        r = -ENOMEM;
        } else
                r = -ENOMEM;
        cert_pem_free_many(l, n);
        return reply_and_unref(bus, reply, r);
}

static int method_get_device(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Provd *p = userdata;
        CertPem cert = {}, key = {};
        DBusMessageIter iter;

        if (!bus_sender_owns_name(bus, dbus_message_get_sender(m), SIP1_NAME))
                return bus_error_set(error, -EACCES, "The device certificate's key is only for " SIP1_NAME);
        int r = certstore_read_device(p->certs, &cert, &key);
        if (r == -ENOENT)
                return bus_error_set(error, r, "No device certificate is installed");
        if (r < 0)
                return r;
        DBusMessage *reply = dbus_message_new_method_return(m);
        if (reply) {
                dbus_message_iter_init_append(reply, &iter);
                r = append_bytes(&iter, cert.pem, cert.size);
                if (r >= 0)
                        r = append_bytes(&iter, key.pem, key.size);
        } else
                r = -ENOMEM;
        cert_pem_done(&cert);
        cert_pem_done(&key);
        return reply_and_unref(bus, reply, r);
}

static const BusMethod certificates_methods[] = {
        { "InstallCa", "say", "name,pem", "s", "installed", method_install_ca },
        { "RemoveCa", "s", "name", "", "", method_remove_ca },
        { "ListCa", "", "", "a(sssx)", "certificates", method_list_ca },
        { "InstallDevice", "ayay", "certificate,key", "", "", method_install_device },
        { "GetTrustedCertificates", "", "", "a(say)", "certificates", method_get_trusted },
        { "GetDeviceCertificate", "", "", "ayay", "certificate,key", method_get_device },
        {}
};

static const BusSignal certificates_signals[] = {
        { "CertificatesChanged", "", "" },
        {}
};

const BusInterface provd_certificates_interface = {
        .name = "org.deskphone.Certificates1",
        .methods = certificates_methods,
        .signals = certificates_signals,
};

int certstore_bus_register(Provd *p) {
        int r = bus_track_name(p->bus, SIP1_NAME);
        if (r < 0)
                return r;
        return bus_add_object(p->bus, PROVD_CERTIFICATES_PATH, &provd_certificates_interface, p);
}
