/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.deskphone.Sip1, .Account and .Call: validate, call the domain, reply. */
#include "log.h"
#include "sipd.h"
#include "util.h"

static int append_string(DBusMessageIter *iter, const char *s) {
        s = strempty(s);
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_STRING, &s) ? 0 : -ENOMEM;
}

static int append_u32(DBusMessageIter *iter, uint32_t u) {
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_UINT32, &u) ? 0 : -ENOMEM;
}

static int append_bool(DBusMessageIter *iter, bool b) {
        dbus_bool_t v = b;
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_BOOLEAN, &v) ? 0 : -ENOMEM;
}

/* ---- org.deskphone.Sip1 ---- */

static int method_dial(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        Manager *mgr = userdata;
        const char *target;
        dbus_uint32_t account;
        Call *c;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &target, DBUS_TYPE_UINT32, &account,
                                   DBUS_TYPE_INVALID))
                return -EINVAL;
        int r = manager_dial(mgr, target, account, &c, error);
        if (r < 0)
                return r;
        const char *path = c->path;
        return bus_reply(bus, m, DBUS_TYPE_OBJECT_PATH, &path, DBUS_TYPE_INVALID);
}

static int property_listen_port(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Manager *mgr = userdata;
        return append_u32(iter, sip_stack_port(mgr->stack));
}

static const BusMethod manager_methods[] = {
        { "Dial", "su", "uri,account", "o", "call", method_dial },
        {}
};

static const BusProperty manager_properties[] = {
        { "ListenPort", "u", property_listen_port, NULL, true },
        {}
};

const BusInterface sipd_manager_interface = {
        .name = SIP1_IFACE,
        .methods = manager_methods,
        .properties = manager_properties,
};

/* ---- org.deskphone.Sip1.Account ---- */

static int method_register(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        int r = account_register_now(userdata, error);
        if (r < 0)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int account_index(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_u32(iter, ((Account *) userdata)->index);
}

static int account_enabled(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_bool(iter, ((Account *) userdata)->settings.enable);
}

static int account_label(Bus *bus, DBusMessageIter *iter, void *userdata) {
        Account *a = userdata;
        return append_string(iter, a->settings.label && *a->settings.label ? a->settings.label : a->settings.user_name);
}

static int account_uri_property(Bus *bus, DBusMessageIter *iter, void *userdata) {
        _cleanup_(freep) char *uri = NULL;
        int r = account_uri(userdata, &uri);
        if (r < 0 && r != -ENOENT)
                return r;
        return append_string(iter, uri);
}

static int account_server_property(Bus *bus, DBusMessageIter *iter, void *userdata) {
        _cleanup_(freep) char *server = NULL;
        int r = account_server(userdata, &server);
        if (r < 0 && r != -ENOENT)
                return r;
        return append_string(iter, server);
}

static int account_transport_property(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, sip_transport_to_string(account_transport(userdata)));
}

static int account_state(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, account_state_to_string(((Account *) userdata)->state));
}

static int account_last_error(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, ((Account *) userdata)->last_error);
}

static int account_expires(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_u32(iter, ((Account *) userdata)->expires);
}

static int account_srtp_encryption(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, sdp_srtp_mode_to_string(((Account *) userdata)->settings.srtp));
}

static const BusMethod account_methods[] = {
        { "Register", "", "", "", "", method_register },
        {}
};

static const BusProperty account_properties[] = {
        { "Index", "u", account_index, NULL, true },
        { "Enabled", "b", account_enabled, NULL, true },
        { "Label", "s", account_label, NULL, true },
        { "Uri", "s", account_uri_property, NULL, true },
        { "Server", "s", account_server_property, NULL, true },
        { "Transport", "s", account_transport_property, NULL, true },
        { "State", "s", account_state, NULL, true },
        { "LastError", "s", account_last_error, NULL, true },
        { "Expires", "u", account_expires, NULL, true },
        { "SrtpEncryption", "s", account_srtp_encryption, NULL, true },
        {}
};

const BusInterface sipd_account_interface = {
        .name = SIP1_ACCOUNT_IFACE,
        .methods = account_methods,
        .properties = account_properties,
};

/* ---- org.deskphone.Sip1.Call ---- */

static int call_method(DBusMessage *m, Bus *bus, int r) {
        if (r < 0)
                return r;
        return bus_reply(bus, m, DBUS_TYPE_INVALID);
}

static int method_answer(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return call_method(m, bus, call_answer(userdata, error));
}

static int method_hangup(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return call_method(m, bus, call_hangup(userdata, error));
}

static int method_reject(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return call_method(m, bus, call_reject(userdata, error));
}

static int method_hold(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return call_method(m, bus, call_hold(userdata, error));
}

static int method_resume(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        return call_method(m, bus, call_resume(userdata, error));
}

/* Answered by call_send_dtmf() itself: at once, or when the media stream took the digits. */
static int method_send_dtmf(Bus *bus, DBusMessage *m, void *userdata, BusError *error) {
        const char *digits;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &digits, DBUS_TYPE_INVALID))
                return -EINVAL;
        return call_send_dtmf(userdata, m, digits, error);
}

static int call_state(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, call_state_to_string(((Call *) userdata)->state));
}

static int call_direction(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, call_direction_to_string(((Call *) userdata)->direction));
}

static int call_remote_uri(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, ((Call *) userdata)->remote_uri);
}

static int call_remote_name(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, ((Call *) userdata)->remote_name);
}

static int call_account(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_u32(iter, ((Call *) userdata)->account);
}

static int call_codec(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, ((Call *) userdata)->codec);
}

static int call_media_encryption(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, ((Call *) userdata)->media_encryption ?: "none");
}

static int call_start_time(Bus *bus, DBusMessageIter *iter, void *userdata) {
        dbus_uint64_t t = ((Call *) userdata)->start_time;
        return dbus_message_iter_append_basic(iter, DBUS_TYPE_UINT64, &t) ? 0 : -ENOMEM;
}

static int call_end_reason(Bus *bus, DBusMessageIter *iter, void *userdata) {
        return append_string(iter, ((Call *) userdata)->end_reason);
}

static const BusMethod call_methods[] = {
        { "Answer", "", "", "", "", method_answer },
        { "Hangup", "", "", "", "", method_hangup },
        { "Reject", "", "", "", "", method_reject },
        { "Hold", "", "", "", "", method_hold },
        { "Resume", "", "", "", "", method_resume },
        { "SendDtmf", "s", "digits", "", "", method_send_dtmf },
        {}
};

static const BusSignal call_signals[] = {
        { "DtmfReceived", "su", "digit,duration_ms" },
        {}
};

static const BusProperty call_properties[] = {
        { "State", "s", call_state, NULL, true },
        { "Direction", "s", call_direction, NULL, true },
        { "RemoteUri", "s", call_remote_uri, NULL, true },
        { "RemoteName", "s", call_remote_name, NULL, true },
        { "Account", "u", call_account, NULL, true },
        { "Codec", "s", call_codec, NULL, true },
        { "MediaEncryption", "s", call_media_encryption, NULL, true },
        { "StartTime", "t", call_start_time, NULL, true },
        { "EndReason", "s", call_end_reason, NULL, true },
        {}
};

const BusInterface sipd_call_interface = {
        .name = SIP1_CALL_IFACE,
        .methods = call_methods,
        .properties = call_properties,
        .signals = call_signals,
};
