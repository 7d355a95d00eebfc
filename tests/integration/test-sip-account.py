#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sipd accounts against Kamailio (issue 3), beyond test-sip-register.py:
failover to sip_server.2, refresh before expiry, Register(), and a
configuration change re-registers only the account it concerns."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import LOOPBACK, Tap, built, expect, free_port  # noqa: E402

tap = Tap()
tap.require("kamailio")
USERS = {"alice": "alice-Secret1", "bob": "bob-Secret2"}
SIP1 = "org.deskphone.Sip1"


def sip_phone(t, cfg):
    built("sipd")
    return t.phone(cfg=cfg, services=["provd", "sipd"])


def registers(kam, user):
    """REGISTER requests from user that reached Kamailio (challenged ones too)."""
    with open(kam.log_path, errors="replace") as f:
        return sum(1 for line in f if "REGISTER sip:" in line and f"from sip:{user}@" in line)


@tap.case("/sip/account/failover")
def _(t):
    """Server 1 does not answer (nobody on its port): after retry_counts
    attempts the account registers to server 2."""
    kam = t.kamailio(users=USERS)
    cfg = kam.account_cfg(1, "alice", extra={
        "sip_server.1.port": free_port(), "sip_server.1.retry_counts": 2, "reg_fail_retry_interval": 1,
        "sip_server.2.address": LOOPBACK, "sip_server.2.port": kam.port})
    phone = sip_phone(t, cfg)
    phone.wait("account/1", "State", "registered", timeout=30)
    props = phone.properties("account/1")
    expect(props["Server"] == f"{LOOPBACK}:{kam.port}", f"Server {props['Server']!r} after failover")
    expect(props["LastError"] == "", f"LastError {props['LastError']!r}")


@tap.case("/sip/account/refresh")
def _(t):
    """nua refreshes the registration before it expires."""
    kam = t.kamailio(users=USERS, max_expires=4)
    phone = sip_phone(t, kam.account_cfg(1, "alice", expires=3600))
    phone.wait("account/1", "State", "registered")
    first = registers(kam, "alice")
    time.sleep(6)
    expect(registers(kam, "alice") >= first + 2, f"{registers(kam, 'alice') - first} refresh(es) in 6 s, Expires 4")
    expect(phone.properties("account/1")["State"] == "registered", "not registered after refreshes")
    expect(kam.contacts("alice"), "no binding left at Kamailio")


@tap.case("/sip/account/register-method")
def _(t):
    kam = t.kamailio(users=USERS)
    phone = sip_phone(t, kam.account_cfg(1, "alice"))
    phone.wait("account/1", "State", "registered")
    before = registers(kam, "alice")
    rc, out, err = phone.busctl("call", SIP1, "/org/deskphone/Sip1/account/1", "org.deskphone.Sip1.Account",
                                "Register")
    expect(rc == 0, f"Register(): {err}")
    phone.wait("account/1", "State", "registered")
    deadline = time.monotonic() + 5
    while registers(kam, "alice") == before and time.monotonic() < deadline:
        time.sleep(0.05)  # Kamailio's log, not the phone's state
    expect(registers(kam, "alice") > before, "Register() sent nothing")


@tap.case("/sip/account/only-changed-reregister")
def _(t):
    kam = t.kamailio(users=USERS)
    cfg = kam.account_cfg(1, "alice")
    cfg.update(kam.account_cfg(2, "bob", transport="tcp"))
    phone = sip_phone(t, cfg)
    phone.wait("account/1", "State", "registered")
    phone.wait("account/2", "State", "registered")
    alice, bob = registers(kam, "alice"), registers(kam, "bob")
    phone.set({"account.1.label": "Alice's line", "account.1.codec.pcma.priority": 1, "call_waiting.enable": 0})
    phone.wait("account/1", "Label", "Alice's line")
    phone.set({"account.2.sip_server.1.expires": 1800})
    phone.wait("account/2", "State", "registered")
    deadline = time.monotonic() + 5
    while registers(kam, "bob") == bob and time.monotonic() < deadline:
        time.sleep(0.05)
    expect(registers(kam, "bob") > bob, "bob's new expires did not re-register")
    expect(registers(kam, "alice") == alice, "a label, codec or global change re-registered alice")
    time.sleep(0.5)  # an un-REGISTER of the old binding would arrive about now
    expect(kam.contacts("bob"), "bob's binding is gone after re-registering")
    expect(phone.properties("account/2")["Expires"] == 1800, "bob's Expires is not the new one")


tap.run()
