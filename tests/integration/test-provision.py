#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Provisioning over HTTP (lighttpd from Debian, and a scripted Python server
for failures lighttpd cannot make): Yealink's file order, boot files, merge
and overwrite modes, conditional requests, digest authentication, the
failures that must leave the configuration byte for byte as it was (404,
bad value, garbage, a server that stalls mid-body), retries honouring
Retry-After, and phonectl provision's exit codes."""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from deskphone import Tap, cfg_text, expect  # noqa: E402
from provisioning import (TEST_MAC, Answer, Lighttpd, ScriptedHttp, effective, provision,  # noqa: E402
                          provision_fails, provision_prop, provisioning_phone, session_log)

tap = Tap()
tap.require("lighttpd")


def lighttpd(t, **kw):
    return t.add(Lighttpd(t._dir("lighttpd"), **kw)).start()


@tap.case("/provision/http/common-and-mac-then-304")
def _(t):
    srv = lighttpd(t)
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "Common", "account.1.user_name": "common",
                                           "voice.jib.max": 250}))
    srv.put(f"{TEST_MAC}.cfg", cfg_text({"account.1.user_name": "alice"}))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url})

    rc, out, _ = provision(phone)
    expect("Result: success" in out, out)
    expect(phone.get("account.1.label") == "Common", "common file not applied")
    expect(phone.get("account.1.user_name") == "alice", "the MAC file must win over the common file")
    expect(phone.get("voice.jib.max") == "250", "common value missing")
    expect(provision_prop(phone, "LastResult") == "success", "LastResult")
    expect(provision_prop(phone, "LastTime") > 0, "LastTime")
    expect(phone.ctl_ok("config", "describe", "account.1.user_name").find("mac") >= 0, "layer should be mac")
    # Yealink's order, and a User-Agent in Yealink's form
    paths = [p for p, _, _ in srv.access(4)]
    expect(paths == [f"/{TEST_MAC}.boot", "/y000000000000.boot", "/y000000000000.cfg", f"/{TEST_MAC}.cfg"],
           f"order: {paths}")
    agents = {ua for _, _, ua in srv.access()}
    expect(len(agents) == 1 and re.fullmatch(r"deskphone 00 [0-9.]+ 00:15:5d:00:00:01", agents.pop()),
           f"User-Agent: {agents}")

    before = effective(phone)
    rc, out, _ = provision(phone)
    expect("Result: unchanged" in out, out)
    expect(srv.statuses("/y000000000000.cfg", 8) == [200, 304], f"{srv.statuses('/y000000000000.cfg')}")
    expect(srv.statuses(f"/{TEST_MAC}.cfg") == [200, 304], "the MAC file should cost a 304")
    expect(effective(phone) == before, "an unchanged run must not rewrite the configuration")
    expect(provision_prop(phone, "LastResult") == "unchanged", "LastResult should be unchanged")
    files = provision_prop(phone, "Files")
    expect([f[1] for f in files] == ["missing", "missing", "not-modified", "not-modified"], f"Files: {files}")
    result = json.loads(phone.ctl_ok("--json", "provision", "--wait"))
    expect(result["LastResult"] == "unchanged" and result["State"] == "idle" and len(result["Files"]) == 4,
           f"phonectl --json provision --wait: {result}")

    # a changed file is applied; a key it no longer names keeps its value (overwrite_mode 0)
    time.sleep(1.1)  # Last-Modified has a resolution of one second
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "Changed"}))
    rc, out, _ = provision(phone)
    expect("Result: success" in out, out)
    expect(phone.get("account.1.label") == "Changed", "changed value")
    expect(phone.get("voice.jib.max") == "250", "merge mode keeps what the file no longer names")


@tap.case("/provision/http/power-on")
def _(t):
    srv = lighttpd(t)
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "Booted"}))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url,
                                   "static.auto_provision.power_on": 1})
    phone.wait("provision", "LastResult", "success", timeout=20)
    expect(phone.get("account.1.label") == "Booted", "power-on provisioning")
    # no MAC file is fine
    expect(srv.statuses(f"/{TEST_MAC}.cfg", 4) == [404], srv.access())
    expect(provision_prop(phone, "NextTime") == 0, "nothing is scheduled by default")
    # repeat.minutes counts from the last run, plus up to jitter_seconds
    phone.set({"static.auto_provision.repeat.enable": 1, "static.auto_provision.repeat.minutes": 1,
               "deskphone.provision.jitter_seconds": 0})
    last, next_ = provision_prop(phone, "LastTime"), provision_prop(phone, "NextTime")
    expect(next_ - last == 60 * 1000000, f"NextTime {next_} should be LastTime {last} + 60 s")
    phone.set({"deskphone.provision.jitter_seconds": 30})
    next_ = provision_prop(phone, "NextTime")
    expect(60 * 1000000 <= next_ - last <= 90 * 1000000, f"NextTime {next_} should be within the jitter")
    phone.set({"static.auto_provision.repeat.enable": 0})
    expect(provision_prop(phone, "NextTime") == 0, "repeat off")
    # the weekly window: a random moment in it (here: the rest of today)
    now = int(time.time() * 1000000)
    phone.set({"static.auto_provision.weekly.enable": 1, "static.auto_provision.weekly.dayofweek": "0123456"})
    next_ = provision_prop(phone, "NextTime")
    expect(now - 1000000 <= next_ <= now + 24 * 3600 * 1000000, f"weekly NextTime {next_}, now {now}")


@tap.case("/provision/http/boot-file-overwrite")
def _(t):
    srv = lighttpd(t)
    srv.put("y000000000000.boot", "#!version:1.0.0.1\ninclude:config <a.cfg>\n"
                                  "include:config \"sub dir/b.cfg\"\noverwrite_mode = 1\n")
    srv.put("a.cfg", cfg_text({"account.1.label": "A", "account.1.user_name": "a",
                               "static.auto_provision.repeat.minutes": 720}))
    srv.put("sub dir/b.cfg", cfg_text({"account.1.label": "B"}))
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "not used in boot mode"}))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url})
    provision(phone)
    expect(phone.get("account.1.label") == "B", "a later include wins")
    expect(phone.get("account.1.user_name") == "a", "earlier include")
    expect(srv.statuses("/y000000000000.cfg", 4) == [], "boot mode must not fetch the common file")

    # overwrite_mode = 1: a key no file names goes back to its default, static.* stays
    srv.put("a.cfg", cfg_text({"account.1.display_name": "Anne"}))
    provision(phone)
    expect(phone.get("account.1.user_name") == "", "overwrite mode resets what the files dropped")
    expect(phone.get("account.1.display_name") == "Anne", "new value")
    expect(phone.get("static.auto_provision.repeat.minutes") == "720", "static.* keeps its value")

    # an included file that is missing fails the whole run
    srv.remove("sub dir/b.cfg")
    provision_fails(phone, contains=["sub%20dir/b.cfg", "HTTP 404", "listed in the boot file"])
    expect(phone.get("account.1.display_name") == "Anne", "nothing applied")


@tap.case("/provision/http/mac-boot-first")
def _(t):
    srv = lighttpd(t)
    srv.put(f"{TEST_MAC}.boot", f"include:config <{TEST_MAC}-mine.cfg>\n")
    srv.put(f"{TEST_MAC}-mine.cfg", cfg_text({"account.1.label": "Mine"}))
    srv.put("y000000000000.boot", "include:config <other.cfg>\n")
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url})
    provision(phone)
    expect(phone.get("account.1.label") == "Mine", "<mac>.boot wins over y000000000000.boot")
    expect(srv.statuses("/y000000000000.boot", 2) == [], "y000000000000.boot must not be fetched")


@tap.case("/provision/http/digest-auth")
def _(t):
    srv = lighttpd(t, users={"admin": "Pr0v-Secret"})
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "Authenticated"}))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url,
                                   "static.auto_provision.server.username": "admin",
                                   "static.auto_provision.server.password": "wrong-password"})
    provision_fails(phone, contains=["HTTP 401"])
    phone.set({"static.auto_provision.server.password": "Pr0v-Secret"})
    provision(phone)
    expect(phone.get("account.1.label") == "Authenticated", "digest authentication")
    expect(phone.get("static.auto_provision.server.password") == "********", "the password must read masked")
    log = session_log(phone)
    expect("Pr0v-Secret" not in log and "wrong-password" not in log, "a password reached the log")


@tap.case("/provision/http/url-option-and-no-server")
def _(t):
    srv = lighttpd(t)
    srv.put("dir/y000000000000.cfg", cfg_text({"account.1.label": "FromOption"}))
    phone = provisioning_phone(t, {})
    rc, out, err = phone.ctl("provision", "--wait")
    expect(rc == 3 and "No provisioning server" in err, f"no server: exit {rc}: {err}")
    provision(phone, "--url", srv.url + "dir")
    expect(phone.get("account.1.label") == "FromOption", "--url")
    expect(provision_prop(phone, "Server") == srv.url + "dir/", provision_prop(phone, "Server"))
    rc, out, err = phone.ctl("provision", "--url", "file:///etc/passwd")
    expect(rc == 4 and "Invalid URL" in err, f"a file: URL must be refused: exit {rc}: {err}")


@tap.case("/provision/dhcp/option-66-from-lease")
def _(t):
    srv = lighttpd(t)
    srv.put("dhcp/y000000000000.cfg", cfg_text({"account.1.label": "FromDhcp"}))
    srv.put("static/y000000000000.cfg", cfg_text({"account.1.label": "FromStatic"}))
    lease = os.path.join(tap.dir, "dhclient.eth0.leases")
    with open(lease, "w") as f:
        f.write("lease {\n  interface \"eth0\";\n  fixed-address 10.0.0.5;\n"
                f"  option tftp-server-name \"{srv.url}dhcp/\";\n}}\n")
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url + "static/",
                                   "deskphone.provision.dhcp_lease_files": os.path.join(tap.dir, "dhclient*.leases")})
    provision(phone)
    expect(phone.get("account.1.label") == "FromDhcp", "DHCP's server comes before the configured one")
    phone.set({"static.auto_provision.dhcp_option.enable": 0})
    provision(phone)
    expect(phone.get("account.1.label") == "FromStatic", "dhcp_option.enable = 0")


@tap.case("/provision/cancel")
def _(t):
    srv = t.add(ScriptedHttp())
    srv.route("y000000000000.cfg", Answer(cfg_text({"account.1.label": "never"}), stall=True))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url,
                                   "deskphone.provision.stall_seconds": 60})
    before = effective(phone)
    phone.ctl_ok("provision")
    phone.wait("provision", "State", "fetching")
    rc, out, err = phone.ctl("provision")
    expect(rc != 0 and "in progress" in err, f"a second Start must be refused: {rc} {err}")
    phone.call("org.deskphone.Provision1", "/org/deskphone/Provision1", "org.deskphone.Provision1", "Cancel")
    phone.wait("provision", "State", "failed")
    expect(provision_prop(phone, "LastError") == "cancelled", provision_prop(phone, "LastError"))
    expect(effective(phone) == before, "a cancelled run changes nothing")


@tap.case("/provision/fail/no-files")
def _(t):
    srv = lighttpd(t)
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url})
    provision_fails(phone, contains=["no configuration files", "y000000000000.cfg", f"{TEST_MAC}.cfg"])


@tap.case("/provision/fail/bad-value")
def _(t):
    srv = lighttpd(t)
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "Good"}))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url})
    provision(phone)
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "Changed"}))
    srv.put(f"{TEST_MAC}.cfg", "#!version:1.0.0.1\naccount.1.user_name = bob\naccount.1.sip_server.1.port = 70000\n")
    provision_fails(phone, contains=[f"{TEST_MAC}.cfg:3: account.1.sip_server.1.port: must be"])
    expect(phone.get("account.1.label") == "Good", "the good common file must not be applied alone")


@tap.case("/provision/fail/garbage-and-html")
def _(t):
    srv = t.add(ScriptedHttp())
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url})
    srv.route("y000000000000.cfg", Answer(os.urandom(1000)))
    provision_fails(phone, contains=["y000000000000.cfg: not a configuration file"])
    srv.route("y000000000000.cfg", Answer(os.urandom(1024)))
    phone.set({"static.auto_provision.aes_key.com": "0123456789abcdef"})
    provision_fails(phone, contains=["y000000000000.cfg: wrong AES key"])
    srv.route("y000000000000.cfg", Answer("<html><body>It works!</body></html>\n"))
    provision_fails(phone, contains=["y000000000000.cfg:1:"])


@tap.case("/provision/fail/stall-mid-body")
def _(t):
    srv = t.add(ScriptedHttp())
    srv.route("y000000000000.cfg", Answer(cfg_text({"account.1.label": "x" * 50}), stall=True))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url,
                                   "deskphone.provision.stall_seconds": 2})
    start = time.monotonic()
    provision_fails(phone, contains=["y000000000000.cfg", "stalled for 2 s mid-body"])
    took = time.monotonic() - start
    expect(took < 8, f"a stalled download should fail after ~2 s, took {took:.1f} s")


@tap.case("/provision/retry-after")
def _(t):
    srv = t.add(ScriptedHttp())
    good = cfg_text({"account.1.label": "AfterRetry"})
    srv.route("y000000000000.cfg", Answer("busy", status=503, headers={"Retry-After": "1"}), Answer(good))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url,
                                   "static.auto_provision.power_on": 1})
    phone.wait("provision", "LastResult", "success", timeout=20)
    expect(phone.get("account.1.label") == "AfterRetry", "the retry should apply")
    expect(srv.paths().count("/y000000000000.cfg") == 2, f"requests: {srv.paths()}")
    expect("HTTP 503" in session_log(phone), "the 503 should be logged")


tap.run()
