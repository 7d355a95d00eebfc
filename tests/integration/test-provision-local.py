#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""<mac>-local.cfg as Yealink phones keep it: local changes (phonectl config
set, the UI) against provisioning with static.auto_provision.custom.protect
1 and 0, and static.auto_provision.custom.sync: the phone uploads the file
(PUT, POST) after local changes and applies the server's copy while
provisioning. The servers: lighttpd, and a Python HTTP server that takes
PUT and POST (lib/provisioning.py)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from deskphone import Tap, cfg_text, expect  # noqa: E402
from provisioning import (TEST_MAC, Answer, Lighttpd, ScriptedHttp, provision, provision_fails,  # noqa: E402
                          provision_prop, provisioning_phone, session_log)

tap = Tap()
tap.require("lighttpd")

LOCAL = f"{TEST_MAC}-local.cfg"
SECRET = "s3cret-local-pw"


def lighttpd(t, **kw):
    return t.add(Lighttpd(t._dir("lighttpd"), **kw)).start()


def layer(phone, key):
    return phone.ctl_ok("config", "describe", key)


@tap.case("/provision/local/protect-1-local-changes-win")
def _(t):
    srv = lighttpd(t)
    srv.put(f"{TEST_MAC}.cfg", cfg_text({"account.1.label": "Provisioned", "account.1.display_name": "Prov",
                                         "static.auto_provision.weekly.begin_time": "02:00"}))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url,
                                   "static.auto_provision.custom.protect": 1})
    provision(phone)
    expect(phone.get("account.1.label") == "Provisioned", "provisioned value")

    phone.set({"account.1.label": "Mine", "static.auto_provision.weekly.begin_time": "03:00"})
    rc, out, _ = provision(phone)
    expect(phone.get("account.1.label") == "Mine", "custom.protect = 1: the local change must survive provisioning")
    expect("local" in layer(phone, "account.1.label"), layer(phone, "account.1.label"))
    # static settings have no priority: the provisioned value wins over a local change
    expect(phone.get("static.auto_provision.weekly.begin_time") == "02:00",
           "a provisioned static.* key must override its local change")
    expect("Result: success" in out, f"dropping a local change is a change: {out}")

    # a changed file does not win either
    time.sleep(1.1)  # Last-Modified has a resolution of one second
    srv.put(f"{TEST_MAC}.cfg", cfg_text({"account.1.label": "Provisioned again", "account.1.display_name": "P2"}))
    provision(phone)
    expect(phone.get("account.1.label") == "Mine", "the local change must survive a changed file")
    expect(phone.get("account.1.display_name") == "P2", "other keys are provisioned")
    # and the local change is the user's to take back
    phone.ctl_ok("config", "reset", "account.1.label")
    expect(phone.get("account.1.label") == "Provisioned again", "reset shows the provisioned value")


@tap.case("/provision/local/protect-0-provisioning-wins")
def _(t):
    srv = lighttpd(t)
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "Provisioned"}))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url,
                                   "static.auto_provision.custom.protect": 0})
    provision(phone)
    phone.set({"account.1.label": "Mine", "account.1.display_name": "Not provisioned"})
    expect(phone.get("account.1.label") == "Mine", "set")

    rc, out, _ = provision(phone)  # the same files: the run still takes the key back
    expect("Result: success" in out, out)
    expect(phone.get("account.1.label") == "Provisioned", "custom.protect = 0: the provisioned value must win")
    expect("local" not in layer(phone, "account.1.label"), "the local change must be dropped, not hidden")
    expect(phone.get("account.1.display_name") == "Not provisioned",
           "a local change of a key no file names stays")
    rc, out, _ = provision(phone)
    expect("Result: unchanged" in out, f"nothing left to drop: {out}")


@tap.case("/provision/local/protect-0-failed-run-keeps-local")
def _(t):
    srv = lighttpd(t)
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "Provisioned", "account.1.sip_server.1.port": "x"}))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url})
    phone.set({"account.1.label": "Mine"})
    provision_fails(phone, contains=["account.1.sip_server.1.port"])
    expect(phone.get("account.1.label") == "Mine", "a failed run must not touch local changes")


def sync_phone(t, srv, **extra):
    cfg = {"static.auto_provision.server.url": srv.url, "static.auto_provision.custom.protect": 1,
           "static.auto_provision.custom.sync": 1}
    cfg.update(extra)
    return provisioning_phone(t, cfg)


@tap.case("/provision/local/sync-uploads-put")
def _(t):
    srv = t.add(ScriptedHttp())
    srv.route("y000000000000.cfg", Answer(cfg_text({"account.1.label": "Provisioned"})))
    phone = sync_phone(t, srv)
    provision(phone)
    expect(srv.upload_count(LOCAL) == 0, "nothing local yet: nothing to upload")

    phone.set({"account.1.label": "Mine", "account.1.password": SECRET,
               "static.auto_provision.weekly.begin_time": "03:00"})
    up = srv.wait_upload(LOCAL)
    text = up.body.decode()
    expect(up.method == "PUT", f"method {up.method}")
    expect(text.startswith("#!version:1.0.0.1\n"), text)
    expect("account.1.label = Mine" in text, text)
    expect(f"account.1.password = {SECRET}" in text, "Yealink uploads the local file as it is, secrets too")
    expect("static." not in text, f"static.* settings are never part of <mac>-local.cfg: {text}")
    expect(up.headers.get("User-Agent", "").startswith("deskphone "), f"User-Agent {up.headers}")
    expect(SECRET not in session_log(phone), "a secret of the local file reached the log")

    # debounced: two quick changes, one upload with both
    phone.set({"account.1.display_name": "A"})
    phone.set({"account.1.display_name": "B"})
    up = srv.wait_upload(LOCAL, 2)
    expect("account.1.display_name = B" in up.body.decode(), up.body)
    # the server has what we have: provisioning downloads it, changes nothing, uploads nothing
    rc, out, _ = provision(phone)
    expect("Result: unchanged" in out, out)
    expect(f"/{LOCAL}" in srv.paths(), f"the run must download {LOCAL}: {srv.paths()}")
    # the next upload is the next change's, not a copy of what the server had
    phone.set({"account.1.display_name": "C"})
    up = srv.wait_upload(LOCAL, 3)
    expect("account.1.display_name = C" in up.body.decode(), f"upload #3 is not the change: {up.body}")


@tap.case("/provision/local/sync-uploads-post")
def _(t):
    srv = t.add(ScriptedHttp(upload_status=200))
    srv.route("y000000000000.cfg", Answer(cfg_text({"account.1.label": "Provisioned"})))
    phone = sync_phone(t, srv, **{"static.auto_provision.custom.upload_method": 1})
    provision(phone)
    phone.set({"account.1.label": "Posted"})
    up = srv.wait_upload(LOCAL)
    expect(up.method == "POST", f"method {up.method}")
    name, filename, content = up.form_file()
    expect(name == "file" and filename == LOCAL, f"form part {name!r} file {filename!r}")
    expect(b"account.1.label = Posted" in content, content)


@tap.case("/provision/local/sync-downloads-server-copy")
def _(t):
    # the server refuses uploads until the phone has provisioned: its copy is the one to apply
    srv = t.add(ScriptedHttp(upload_status=503))
    srv.route("y000000000000.cfg", Answer(cfg_text({"account.1.label": "Provisioned",
                                                    "account.1.display_name": "Prov"})))
    srv.route(LOCAL, Answer(cfg_text({"account.1.label": "From the server", "account.1.user_name": "bob"})))
    phone = sync_phone(t, srv)
    phone.set({"account.1.display_name": "Only here", "static.auto_provision.weekly.begin_time": "04:00"})
    rc, out, _ = provision(phone)
    expect("Result: success" in out, out)
    expect(phone.get("account.1.label") == "From the server", "the server's local file must be applied")
    expect("local" in layer(phone, "account.1.label"), "as local changes")
    expect(phone.get("account.1.user_name") == "bob", "every key of it")
    expect(phone.get("account.1.display_name") == "Prov",
           "the server's local file replaces the local changes it does not name")
    expect(phone.get("static.auto_provision.weekly.begin_time") == "04:00", "local static.* settings stay")
    files = provision_prop(phone, "Files")
    expect(any(f[0].endswith(LOCAL) and f[1] == "downloaded" for f in files), f"Files: {files}")
    # what came from the server does not go back to it: the next upload is the next change
    srv.upload_status = 201
    before = srv.upload_count(LOCAL)
    phone.set({"account.1.display_name": "Changed later"})
    text = srv.wait_upload(LOCAL, before + 1).body.decode()
    expect("account.1.display_name = Changed later" in text and "account.1.label = From the server" in text,
           f"upload after provisioning: {text}")

    # a bad server copy fails the run, and nothing of it is applied
    srv.route(LOCAL, Answer(cfg_text({"account.1.label": "x", "account.1.sip_server.1.port": "bad"})))
    provision_fails(phone, contains=[LOCAL, "account.1.sip_server.1.port"])
    expect(phone.get("account.1.label") == "From the server", "a bad local file must change nothing")


@tap.case("/provision/local/sync-path-elsewhere")
def _(t):
    srv = lighttpd(t)
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "Provisioned"}))
    store = t.add(ScriptedHttp(name="sync-server"))
    phone = sync_phone(t, srv, **{"static.auto_provision.custom.sync.path": store.url + "backup"})
    provision(phone)
    expect(f"/backup/{LOCAL}" in store.paths(), f"download from custom.sync.path: {store.paths()}")
    expect(not any(p.endswith(LOCAL) for p, _, _ in srv.access()), "not from the provisioning server")
    phone.set({"account.1.label": "Mine"})
    up = store.wait_upload(f"backup/{LOCAL}")
    expect(b"account.1.label = Mine" in up.body, up.body)


@tap.case("/provision/local/sync-off-no-requests")
def _(t):
    srv = t.add(ScriptedHttp())
    srv.route("y000000000000.cfg", Answer(cfg_text({"account.1.label": "Provisioned"})))
    # custom.sync needs custom.protect (Yealink): protect 0, sync 1 syncs nothing
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url,
                                   "static.auto_provision.custom.sync": 1})
    provision(phone)
    phone.set({"account.1.display_name": "Mine"})
    time.sleep(1.5)  # an upload would start 1 s after the change; there is no event for "none"
    expect(not any(p.endswith(LOCAL) for p in srv.paths()), f"requests: {srv.paths()}")
    expect(srv.upload_count(LOCAL) == 0, "no upload")


tap.run()
