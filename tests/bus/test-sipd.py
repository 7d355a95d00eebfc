#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sipd on a private bus, no SIP peer: its objects, following provd's
configuration, starting before provd, errors of its methods, and a call
that fails cleanly when there is no media service."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration", "lib"))
from deskphone import BUILD_ROOT, LOOPBACK, Tap, built, expect, free_port  # noqa: E402

tap = Tap()
SIP1 = "org.deskphone.Sip1"
ACCOUNT = "org.deskphone.Sip1.Account"


def sipd_phone(t, cfg=None, services=("provd", "sipd")):
    built("sipd")
    phone = t.phone(cfg=cfg, services=list(services))
    if "provd" in services:
        phone.wait("sip", "ListenPort", phone.sip_port)
    return phone


@tap.case("/sipd/bus/objects")
def _(t):
    phone = sipd_phone(t)
    accounts = phone.objects("account/")
    expect(len(accounts) == 16, f"{len(accounts)} account objects")
    for n in range(1, 17):
        props = accounts[f"/org/deskphone/Sip1/account/{n}"]
        expect(props["Index"] == n and props["State"] == "unregistered" and props["Enabled"] is False,
               f"account {n}: {props}")
    expect(phone.objects("call/") == {}, "calls before any call")


@tap.case("/sipd/bus/follows-configuration")
def _(t):
    phone = sipd_phone(t)
    phone.set({"account.3.label": "Front desk", "account.3.user_name": "desk", "account.3.enable": 1})
    phone.wait("account/3", "Enabled", "true")
    phone.wait("account/3", "Label", "Front desk")
    props = phone.properties("account/3")
    expect(props["State"] == "unregistered" and props["Uri"] == "", f"account 3 has no server: {props}")
    phone.set({"account.3.sip_server.1.address": "127.0.0.1", "account.3.sip_server.1.port": free_port(),
               "account.3.sip_server.1.transport_type": 1})
    phone.wait("account/3", "Transport", "tcp")
    props = phone.properties("account/3")
    expect(props["Uri"] == "sip:desk@127.0.0.1", f"Uri {props['Uri']!r}")
    expect(props["State"] in ("registering", "failed"), f"State {props['State']!r} with a server nobody runs")


@tap.case("/sipd/bus/register-errors")
def _(t):
    phone = sipd_phone(t, cfg={"account.2.enable": 1, "account.2.user_name": "two"})
    rc, out, err = phone.busctl("call", SIP1, "/org/deskphone/Sip1/account/1", ACCOUNT, "Register")
    expect(rc != 0 and "disabled" in err, f"disabled account: {rc} {err}")
    rc, out, err = phone.busctl("call", SIP1, "/org/deskphone/Sip1/account/2", ACCOUNT, "Register")
    expect(rc != 0 and "no SIP server" in err, f"account without server: {rc} {err}")


@tap.case("/sipd/bus/dial-errors")
def _(t):
    phone = sipd_phone(t, cfg={"features.direct_ip_call_enable": 0})
    rc, out, err = phone.ctl("dial", "sip:bob@127.0.0.1:9")
    expect(rc == 7, f"direct call while disabled: exit {rc} {err}")
    rc, out, err = phone.ctl("dial", "sip:bob@127.0.0.1:9", "--account", "2")
    expect(rc == 1 and "disabled" in err, f"disabled account: exit {rc} {err}")
    rc, out, err = phone.ctl("dial", "bob")
    expect(rc == 4, f"a bare name without an account: exit {rc} {err}")


@tap.case("/sipd/bus/no-media-service")
def _(t):
    phone = sipd_phone(t)
    path = phone.ctl_ok("dial", f"sip:bob@{LOOPBACK}:{free_port()}").strip()
    call = "call/" + path.rsplit("/", 1)[1]
    phone.wait(call, "State", "ended")
    props = phone.properties(call)
    expect(props["EndReason"] == "media service unavailable", f"EndReason {props['EndReason']!r}")
    expect(props["Direction"] == "outgoing" and props["StartTime"] == 0, f"call: {props}")
    rc, out, err = phone.ctl("hangup", call)
    expect(rc == 1, f"hangup of an ended call: exit {rc} {err}")


@tap.case("/sipd/bus/starts-before-provd")
def _(t):
    """sipd owns its name without provd, and configures itself when provd comes."""
    port = free_port()
    phone = sipd_phone(t, cfg={"sip.listen_port": port}, services=("sipd",))
    expect(phone.properties("/org/deskphone/Sip1")["ListenPort"] == 0, "listening without a configuration")
    rc, out, err = phone.ctl("dial", "sip:bob@127.0.0.1:9")
    expect(rc == 1 and "not running" in err, f"dial without configuration: exit {rc} {err}")
    provd = subprocess.Popen([os.path.join(BUILD_ROOT, "services", "provd", "provd"), "--state-dir",
                              os.path.join(phone.dir, "late-provd"), "--config", phone.cfg_path],
                             env=dict(os.environ, DESKPHONE_BUS=phone.bus), stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(phone.dir, "late-provd.log"), "w"))
    try:
        phone.wait("sip", "ListenPort", port)
    finally:
        provd.terminate()
        provd.wait(timeout=10)


tap.run()
