#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sipd registers to Kamailio (issue 3): digest auth over UDP and TCP, a
wrong password ends in `failed` with the SIP status in LastError, a
registrar that goes away is retried and registered to again when it
returns, and registrations are removed on disable and on shutdown."""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import Tap, built, expect  # noqa: E402

tap = Tap()
USERS = {"alice": "alice-Secret1", "bob": "bob-Secret2"}
SERVICES = ["provd", "sipd"]


def sip_phone(t, cfg, name=None):
    built("sipd")
    return t.phone(cfg=cfg, services=SERVICES, name=name)


def registered(t, kam, user="alice", transport="udp", extra_cfg=None, **account):
    """A phone with account 1 registered to kam as user."""
    cfg = kam.account_cfg(1, user, transport=transport, **account)
    cfg.update(extra_cfg or {})
    phone = sip_phone(t, cfg)
    phone.wait("account/1", "State", "registered", timeout=20)
    return phone


def contact_of(kam, user, phone):
    """The contact Kamailio has for user that points at this phone."""
    contacts = [c for c in kam.contacts(user) if f":{phone.sip_port}" in c]
    return contacts[0] if contacts else None


@tap.case("/sip/register/udp")
def _(t):
    kam = t.kamailio(users=USERS)
    phone = registered(t, kam)
    props = phone.properties("account/1")
    expect(props["LastError"] == "", f"LastError {props['LastError']!r} once registered")
    expect(props["Transport"] == "udp", f"Transport {props['Transport']!r}")
    expect(0 < props["Expires"] <= 3600, f"Expires {props['Expires']}")
    contact = contact_of(kam, "alice", phone)
    expect(contact is not None, f"Kamailio has no contact at the phone's port: {kam.contacts('alice')}")
    # loopback only: the registrar must never be told to reach the phone elsewhere
    expect(f"@127.0.0.1:{phone.sip_port}" in contact, f"contact {contact} is not on 127.0.0.1")


@tap.case("/sip/register/tcp")
def _(t):
    kam = t.kamailio(users=USERS)
    phone = registered(t, kam, "bob", transport="tcp")
    expect(phone.properties("account/1")["Transport"] == "tcp", "Transport")
    bindings = kam.bindings("bob")
    expect(any(b.get("Socket", "").startswith("tcp:") for b in bindings),
           f"bob's REGISTER did not arrive over TCP: {bindings}")


@tap.case("/sip/register/tcp-contact")
def _(t):
    """Over TCP the Contact says transport=tcp, or the registrar would send
    calls for this account over UDP."""
    kam = t.kamailio(users=USERS)
    registered(t, kam, "bob", transport="tcp")
    contacts = kam.contacts("bob")
    expect(any("transport=tcp" in c.lower() for c in contacts), f"bob's contact lacks transport=tcp: {contacts}")


@tap.case("/sip/register/granted-expires")
def _(t):
    """Expires is what the registrar granted, not what the phone asked for."""
    kam = t.kamailio(users=USERS, max_expires=60)
    phone = registered(t, kam, expires=3600)
    expires = phone.properties("account/1")["Expires"]
    expect(0 < expires <= 60, f"Expires {expires}, Kamailio grants at most 60")


@tap.case("/sip/register/wrong-password-403")
def _(t):
    kam = t.kamailio(users=USERS)
    phone = sip_phone(t, kam.account_cfg(1, "alice", password="not-the-password"))
    phone.wait("account/1", "State", "failed", timeout=20)
    props = phone.properties("account/1")
    expect("403" in props["LastError"], f"LastError {props['LastError']!r} does not name 403")
    expect(props["Expires"] == 0, f"Expires {props['Expires']} while not registered")
    expect(kam.contacts("alice") == [], "registered with a wrong password")


@tap.case("/sip/register/wrong-password-401")
def _(t):
    """A registrar that challenges wrong credentials again: no endless loop,
    failed with 401."""
    kam = t.kamailio(users=USERS, refuse_with=401)
    phone = sip_phone(t, kam.account_cfg(1, "alice", password="not-the-password"))
    phone.wait("account/1", "State", "failed", timeout=20)
    error = phone.properties("account/1")["LastError"]
    expect("401" in error, f"LastError {error!r} does not name 401")


@tap.case("/sip/register/server-restart")
def _(t):
    """Kamailio stops: the refresh fails and sipd retries; Kamailio comes back
    (same ports, contacts forgotten): sipd registers again by itself."""
    kam = t.kamailio(users=USERS, max_expires=10)
    phone = registered(t, kam, expires=30, extra={"reg_fail_retry_interval": 1})
    kam.stop()
    phone.wait("account/1", "State", "failed", timeout=40)
    error = phone.properties("account/1")["LastError"]
    expect(error != "", "failed without a LastError")
    kam.start()
    expect(kam.contacts("alice") == [], "Kamailio remembered the contact over a restart")
    phone.wait("account/1", "State", "registered", timeout=40)
    expect(contact_of(kam, "alice", phone) is not None, f"not registered at Kamailio: {kam.contacts('alice')}")
    expect(phone.properties("account/1")["LastError"] == "", "LastError not cleared once registered again")


@tap.case("/sip/register/disable-unregisters")
def _(t):
    kam = t.kamailio(users=USERS)
    phone = registered(t, kam)
    expect(contact_of(kam, "alice", phone) is not None, "not registered at Kamailio")
    phone.set({"account.1.enable": 0})
    phone.wait("account/1", "State", "unregistered", timeout=20)
    expect(phone.properties("account/1")["Expires"] == 0, "Expires not 0 once unregistered")
    expect(contact_of(kam, "alice", phone) is None, f"contact left at Kamailio: {kam.contacts('alice')}")


@tap.case("/sip/register/shutdown-unregisters")
def _(t):
    kam = t.kamailio(users=USERS)
    phone = registered(t, kam)
    phone.stop()
    expect(contact_of(kam, "alice", phone) is None, f"contact left at Kamailio: {kam.contacts('alice')}")


@tap.case("/sip/register/two-accounts")
def _(t):
    """Two accounts on one phone, over UDP and TCP, each its own state."""
    kam = t.kamailio(users=USERS)
    cfg = kam.account_cfg(1, "alice")
    cfg.update(kam.account_cfg(2, "bob", transport="tcp"))
    phone = sip_phone(t, cfg)
    phone.wait("account/1", "State", "registered", timeout=20)
    phone.wait("account/2", "State", "registered", timeout=20)
    expect(contact_of(kam, "alice", phone) and contact_of(kam, "bob", phone), "both accounts at Kamailio")
    phone.set({"account.2.password": "not-the-password"})
    phone.wait("account/2", "State", "failed", timeout=20)
    expect(phone.properties("account/1")["State"] == "registered", "account 1 disturbed by account 2's change")


tap.run()
