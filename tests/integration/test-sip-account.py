#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sipd accounts against Kamailio (issue 3), beyond test-sip-register.py:
failover to sip_server.2, refresh before expiry, Register(), and a
configuration change re-registers only the account it concerns."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import LOOPBACK, Tap, built, expect, free_port, wait_until  # noqa: E402

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


def register_log(kam, user):
    """[(Call-ID, line)] of user's REGISTERs in Kamailio's log, in order: each
    request as it arrived, and its outcome when it had one (kamailio.cfg.in
    logs "REGISTER: saved ... (expires N)" or a refusal; a 401 challenge is
    not logged, the request with credentials that follows it is)."""
    out = []
    with open(kam.log_path, errors="replace") as f:
        for line in f:
            m = re.search(r"\{REGISTER ([^}]+)\}", line)
            if m and ("REGISTER sip:" in line and f"from sip:{user}@" in line or
                      f"REGISTER: saved sip:{user}@" in line or f"user '{user}'" in line or
                      f"password for '{user}'" in line):
                out.append((m.group(1), line.rstrip()))
    return out


def unanswered(kam, user):
    """Call-IDs of user's registrations whose last REGISTER has no outcome in
    Kamailio's log yet (not handled yet, or challenged and not sent again)."""
    last = {}
    for call_id, line in register_log(kam, user):
        last[call_id] = line
    return [c for c, line in last.items() if "REGISTER sip:" in line]


def saves(kam, user):
    """Bindings of user that Kamailio saved (a registration or a refresh)."""
    return sum(1 for _, line in register_log(kam, user) if "REGISTER: saved" in line)


def save_times(kam, user, n, timeout):
    """When each of the next n bindings of user was saved, as Kamailio's log
    shows it (time.monotonic(), read every 20 ms: Kamailio, not the phone)."""
    times, seen = [], saves(kam, user)

    def more():
        nonlocal seen
        now = saves(kam, user)
        times.extend([time.monotonic()] * (now - seen))
        seen = now
        return len(times) >= n
    wait_until(more, timeout, f"Kamailio to save {n} bindings of {user}")
    return times[:n]


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
    registered = time.monotonic()
    wait_until(lambda: saves(kam, "alice") >= 1, 5, "Kamailio to log alice's first binding")  # written after its 200
    expires = phone.properties("account/1")["Expires"]
    expect(0 < expires <= 4, f"Expires {expires}, Kamailio grants 4 s at most")
    # two refreshes, each before the binding it renews expires (a late one would leave a gap)
    times = save_times(kam, "alice", 2, timeout=15)
    gaps = [b - a for a, b in zip([registered] + times, times)]
    text = ", ".join(f"{g:.2f} s" for g in gaps)
    t.tap._diag(f"refreshes after {text} (Expires {expires})")
    expect(all(g < expires for g in gaps), f"refreshes after {text}: not all within Expires {expires}")
    expect(phone.properties("account/1")["State"] == "registered", "not registered after refreshes")
    expect(kam.contacts("alice"), "no binding left at Kamailio")


@tap.case("/sip/account/register-method")
def _(t):
    kam = t.kamailio(users=USERS)
    phone = sip_phone(t, kam.account_cfg(1, "alice"))
    phone.wait("account/1", "State", "registered")
    before, saved = registers(kam, "alice"), saves(kam, "alice")
    rc, out, err = phone.busctl("call", SIP1, "/org/deskphone/Sip1/account/1", "org.deskphone.Sip1.Account",
                                "Register")
    expect(rc == 0, f"Register(): {err}")
    phone.wait("account/1", "State", "registered")
    deadline = time.monotonic() + 5
    while saves(kam, "alice") == saved and time.monotonic() < deadline:
        time.sleep(0.05)  # Kamailio's log, not the phone's state
    expect(registers(kam, "alice") > before, "Register() sent nothing")
    expect(saves(kam, "alice") > saved, "Register()'s REGISTER was not saved")
    # the refresh carries our Contact and Expires, as the first REGISTER did (not nua's own)
    last = [line for _, line in register_log(kam, "alice") if "REGISTER: saved" in line][-1]
    expect(re.search(r"-> .*sip:alice@", last) and re.search(r"\(expires \d+\)", last),
           f"Register() sent another Contact or no Expires: {last}")
    expect(len(kam.contacts("alice")) == 1, f"bindings after Register(): {kam.contacts('alice')}")


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
    # An un-REGISTER of the old binding (sofia sends one when sipd drops the
    # old handle) leaves when sipd applies the change, with the new REGISTER,
    # on the same TCP connection, and Kamailio handles one connection's
    # requests in order. Once the new binding's 200 is in (Expires 1800, after
    # a 401 round trip) and every REGISTER of bob's has its outcome in
    # Kamailio's log (a challenged one too), nothing is in flight that could
    # still remove the binding: an un-REGISTER must not come after it.
    phone.wait("account/2", "Expires", 1800)
    wait_until(lambda: not unanswered(kam, "bob"), 5, "Kamailio to finish every REGISTER of bob's")
    lines = [line for _, line in register_log(kam, "bob")]
    new = next((i for i, line in enumerate(lines) if line.endswith("(expires 1800)")), None)
    expect(new is not None, "Kamailio's log has no binding of bob's saved with expires 1800")
    expect(not any(line.endswith("(expires 0)") for line in lines[new:]),
           "an un-REGISTER reached Kamailio after bob's new registration")
    expect(kam.contacts("bob"), "bob's binding is gone after re-registering")
    expect(phone.properties("account/2")["Expires"] == 1800, "bob's Expires is not the new one")


tap.run()
