#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Rollback after provisioning: a phone registered to Kamailio with an
account from provisioning is provisioned with a wrong password; the
registration fails, Provision1 says so (LastResult "registration-failed",
LastError naming the account and the SIP reason), Rollback() puts the
earlier configuration back byte for byte and the phone registers again; the
same files are not applied again unless forced; with
deskphone.provision.auto_rollback = 1 all of it happens by itself."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from deskphone import Tap, built, cfg_text, expect  # noqa: E402
from provisioning import (Answer, ScriptedHttp, effective, provision, provision_fails,  # noqa: E402
                          provision_prop, provisioning_phone)

tap = Tap()
tap.require("kamailio")

GOOD = "G00d-Passw0rd"
PROVISION = ("org.deskphone.Provision1", "/org/deskphone/Provision1", "org.deskphone.Provision1")


def serve(srv, kam, password, label="Provisioned"):
    keys = kam.account_cfg(1, "alice", password=password)
    keys["account.1.label"] = label
    srv.route("y000000000000.cfg", Answer(cfg_text(keys)))


def registered_phone(t, extra=None):
    built("sipd")
    kam = t.kamailio(users={"alice": GOOD})
    srv = t.add(ScriptedHttp())
    serve(srv, kam, GOOD)
    cfg = {"static.auto_provision.server.url": srv.url, "deskphone.provision.rollback_window": 30}
    cfg.update(extra or {})
    phone = provisioning_phone(t, cfg, services=("provd", "sipd"))
    provision(phone)
    phone.wait("account/1", "State", "registered")
    expect(provision_prop(phone, "CanRollback") is True, "a run changed the configuration: rollback possible")
    return kam, srv, phone


@tap.case("/provision/rollback/registration-fails-then-rollback")
def _(t):
    kam, srv, phone = registered_phone(t)
    good = effective(phone)

    serve(srv, kam, "wrong-password", label="Broken")
    provision(phone)
    phone.wait("provision", "LastResult", "registration-failed")
    error = provision_prop(phone, "LastError")
    expect("account 1" in error and "403" in error, f"LastError should name the account and reason: {error!r}")
    expect("wrong-password" not in error, "a password in LastError")
    expect(phone.get("account.1.label") == "Broken", "no rollback without auto_rollback")

    phone.call(*PROVISION, "Rollback")
    expect(provision_prop(phone, "LastResult") == "rolled-back", provision_prop(phone, "LastResult"))
    expect(effective(phone) == good, "Rollback must restore the earlier configuration byte for byte")
    phone.wait("account/1", "State", "registered")
    expect(provision_prop(phone, "CanRollback") is False, "one step only")
    rc, out, err = phone.busctl("call", *PROVISION, "Rollback")
    expect(rc != 0 and "no earlier provisioned configuration" in err, f"a second Rollback: {rc} {err}")

    # the same files again: refused, unless forced
    provision_fails(phone, contains=["rolled back after a registration failed"])
    phone.call(*PROVISION, "Start", "a{sv}", "1", "force", "b", "true")
    phone.wait("provision", "LastResult", "registration-failed")


@tap.case("/provision/rollback/automatic")
def _(t):
    kam, srv, phone = registered_phone(t, {"deskphone.provision.auto_rollback": 1})
    good = effective(phone)

    serve(srv, kam, "another-wrong-one", label="Broken")
    provision(phone)
    phone.wait("provision", "LastResult", "rolled-back")
    error = provision_prop(phone, "LastError")
    expect(error.startswith("rolled back: account 1: registration failed") and "403" in error, error)
    expect(effective(phone) == good, "the automatic rollback must restore the configuration byte for byte")
    phone.wait("account/1", "State", "registered")
    expect(phone.get("account.1.label") == "Provisioned", phone.get("account.1.label"))


@tap.case("/provision/rollback/good-change-is-kept")
def _(t):
    kam, srv, phone = registered_phone(t, {"deskphone.provision.auto_rollback": 1,
                                           "deskphone.provision.rollback_window": 3})
    serve(srv, kam, GOOD, label="Renamed")
    provision(phone)
    phone.wait("account/1", "State", "registered")
    # the window passes with the account registered: nothing is rolled back
    rc, _, _ = phone.ctl("--timeout", "5", "wait", "provision", "LastResult", "rolled-back", timeout=20)
    expect(rc != 0, "a change that kept the registration must not be rolled back")
    expect(provision_prop(phone, "LastResult") == "success", provision_prop(phone, "LastResult"))
    expect(phone.get("account.1.label") == "Renamed", "kept")


tap.run()
