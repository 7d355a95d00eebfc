/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Introspection XML, generated from the BusInterface tables: one interface
 * (bus_introspect_interface(), for --print-interfaces) or a whole node with the
 * standard interfaces and its children (bus_introspect_path(), for Introspect).
 */

#include <stdio.h>

#include "bus-internal.h"
#include "util.h"

static void introspect_args(FILE *f, const char *signature, const char *names, const char *direction) {
        DBusSignatureIter it;
        const char *n = names ?: "";

        if (!signature || !*signature)
                return;
        dbus_signature_iter_init(&it, signature);
        do {
                char *sig = dbus_signature_iter_get_signature(&it);
                size_t l = strcspn(n, ",");
                fprintf(f, "   <arg type=\"%s\"", sig);
                if (l > 0)
                        fprintf(f, " name=\"%.*s\"", (int) l, n);
                if (direction)
                        fprintf(f, " direction=\"%s\"", direction);
                fputs("/>\n", f);
                dbus_free(sig);
                n += l + (n[l] == ',');
        } while (dbus_signature_iter_next(&it));
}

static void introspect_interface(FILE *f, const BusInterface *iface) {
        fprintf(f, "  <interface name=\"%s\">\n", iface->name);
        if (iface->methods)
                for (const BusMethod *m = iface->methods; m->name; m++) {
                        fprintf(f, "   <method name=\"%s\">\n", m->name);
                        introspect_args(f, m->in_signature, m->in_names, "in");
                        introspect_args(f, m->out_signature, m->out_names, "out");
                        fputs("   </method>\n", f);
                }
        if (iface->signals)
                for (const BusSignal *s = iface->signals; s->name; s++) {
                        fprintf(f, "   <signal name=\"%s\">\n", s->name);
                        introspect_args(f, s->signature, s->names, NULL);
                        fputs("   </signal>\n", f);
                }
        if (iface->properties)
                for (const BusProperty *p = iface->properties; p->name; p++) {
                        fprintf(f, "   <property name=\"%s\" type=\"%s\" access=\"%s\"", p->name,
                                p->signature, p->set ? "readwrite" : "read");
                        if (p->emits_change)
                                fputs("/>\n", f);
                        else
                                fputs(">\n    <annotation name=\"org.freedesktop.DBus.Property."
                                      "EmitsChangedSignal\" value=\"false\"/>\n   </property>\n", f);
                }
        fputs("  </interface>\n", f);
}

char *bus_introspect_interface(const BusInterface *iface) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        introspect_interface(f, iface);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static const char introspect_standard[] =
        "  <interface name=\"org.freedesktop.DBus.Peer\">\n"
        "   <method name=\"Ping\"/>\n"
        "   <method name=\"GetMachineId\">\n"
        "    <arg type=\"s\" name=\"machine_uuid\" direction=\"out\"/>\n"
        "   </method>\n"
        "  </interface>\n"
        "  <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
        "   <method name=\"Introspect\">\n"
        "    <arg name=\"xml_data\" type=\"s\" direction=\"out\"/>\n"
        "   </method>\n"
        "  </interface>\n"
        "  <interface name=\"org.freedesktop.DBus.Properties\">\n"
        "   <method name=\"Get\">\n"
        "    <arg name=\"interface_name\" direction=\"in\" type=\"s\"/>\n"
        "    <arg name=\"property_name\" direction=\"in\" type=\"s\"/>\n"
        "    <arg name=\"value\" direction=\"out\" type=\"v\"/>\n"
        "   </method>\n"
        "   <method name=\"GetAll\">\n"
        "    <arg name=\"interface_name\" direction=\"in\" type=\"s\"/>\n"
        "    <arg name=\"props\" direction=\"out\" type=\"a{sv}\"/>\n"
        "   </method>\n"
        "   <method name=\"Set\">\n"
        "    <arg name=\"interface_name\" direction=\"in\" type=\"s\"/>\n"
        "    <arg name=\"property_name\" direction=\"in\" type=\"s\"/>\n"
        "    <arg name=\"value\" direction=\"in\" type=\"v\"/>\n"
        "   </method>\n"
        "   <signal name=\"PropertiesChanged\">\n"
        "    <arg type=\"s\" name=\"interface_name\"/>\n"
        "    <arg type=\"a{sv}\" name=\"changed_properties\"/>\n"
        "    <arg type=\"as\" name=\"invalidated_properties\"/>\n"
        "   </signal>\n"
        "  </interface>\n";

static const char introspect_object_manager[] =
        "  <interface name=\"org.freedesktop.DBus.ObjectManager\">\n"
        "   <method name=\"GetManagedObjects\">\n"
        "    <arg type=\"a{oa{sa{sv}}}\" name=\"object_paths_interfaces_and_properties\" direction=\"out\"/>\n"
        "   </method>\n"
        "   <signal name=\"InterfacesAdded\">\n"
        "    <arg type=\"o\" name=\"object_path\"/>\n"
        "    <arg type=\"a{sa{sv}}\" name=\"interfaces_and_properties\"/>\n"
        "   </signal>\n"
        "   <signal name=\"InterfacesRemoved\">\n"
        "    <arg type=\"o\" name=\"object_path\"/>\n"
        "    <arg type=\"as\" name=\"interfaces\"/>\n"
        "   </signal>\n"
        "  </interface>\n";

/* Child node names directly below path, from registered objects and managers. */
static void introspect_children(Bus *bus, FILE *f, const char *path) {
        char **seen = NULL;
        size_t pl = streq(path, "/") ? 0 : strlen(path);

        for (Registration *r = bus->registrations;; r = r->next) {
                const char *p = r ? r->path : NULL;
                if (!r) {
                        /* then the managers */
                        for (Manager *m = bus->managers; m; m = m->next) {
                                if (!bus_path_is_below(m->path, path))
                                        continue;
                                const char *child = m->path + pl + 1;
                                size_t l = strcspn(child, "/");
                                char *name = strndup(child, l);
                                if (name && !strv_contains(seen, name))
                                        (void) strv_extend(&seen, name);
                                free(name);
                        }
                        break;
                }
                if (!bus_path_is_below(p, path))
                        continue;
                const char *child = p + pl + 1;
                char *name = strndup(child, strcspn(child, "/"));
                if (name && !strv_contains(seen, name))
                        (void) strv_extend(&seen, name);
                free(name);
        }
        for (char **s = seen; s && *s; s++)
                fprintf(f, " <node name=\"%s\"/>\n", *s);
        strv_free(seen);
}

char *bus_introspect_path(Bus *bus, const char *path) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return NULL;

        fputs(DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE "<node>\n", f);
        fputs(introspect_standard, f);
        if (bus_is_object_manager(bus, path))
                fputs(introspect_object_manager, f);
        for (Registration *r = bus->registrations; r; r = r->next)
                if (streq(r->path, path))
                        introspect_interface(f, r->iface);
        introspect_children(bus, f, path);
        fputs("</node>\n", f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

