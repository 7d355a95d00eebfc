#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Provisioning over HTTPS from lighttpd (Debian's, mod_openssl) with a
throwaway CA made by certtool: plain, legacy AES-encrypted, key-file and RSA
mode files; the phone then registers to Kamailio with the provisioned
account. Untrusted and wrong-host certificates, wrong AES and RSA keys,
truncated ciphertext and update_file_mode = 1 with a plain file each fail
with a reason naming the file, and leave effective.cfg byte for byte as it
was. No secret reaches the log or phonectl's output.

Certificates: with static.security.ca_cert = 1 the trusted set is the
certificate store's custom CAs only (phonectl certificate install-ca), as for
SIP over TLS; static.trusted_certificates.url and
static.server_certificates.url install a CA and a device certificate as part
of a run (the CA then trusted by a second HTTPS server's fetch and by sipd's
TLS registration to Kamailio; the device certificate offered for mutual TLS),
the .delete keys (http://localhost/all) remove them, and a bad PEM fails the
run naming the file, with the store and effective.cfg unchanged."""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from deskphone import Tap, built, cfg_text, expect, free_port  # noqa: E402
from provisioning import (TEST_MAC, Lighttpd, ThrowawayCa, effective, encrypt_legacy, encrypt_rsa,  # noqa: E402
                          provision, provision_fails, provision_prop, provisioning_phone, rsa_key, session_log)

tap = Tap()
tap.require("lighttpd", "certtool")

COM_KEY = "Com0Key1Com2Key3"            # 16 characters: AES-128
MAC_KEY = "MacKey0123456789MacKey0123456789"  # 32 characters: AES-256
ACCOUNT_PASSWORD = "Acc0unt-Pa55"
_ca = []


def ca():
    if not _ca:
        _ca.append(ThrowawayCa(tap.dir))
    return _ca[0]


def https(t, host="127.0.0.1"):
    return t.add(Lighttpd(t._dir("lighttpd"), tls=ca().server_cert(host))).start()


def common_text(label="Common"):
    return cfg_text({"account.1.label": label, "voice.jib.max": 280})


def mac_text(user="alice", extra=None):
    keys = {"account.1.user_name": user, "account.1.password": ACCOUNT_PASSWORD}
    keys.update(extra or {})
    return cfg_text(keys)


def phone_for(t, srv, extra=None, trust=True, **kw):
    cfg = {"static.auto_provision.server.url": srv.url, "static.security.ca_cert": 2}
    cfg.update(extra or {})
    return provisioning_phone(t, cfg, ca=ca() if trust else None, **kw)


def check_secrets(phone, outputs, secrets):
    log = session_log(phone)
    for s in secrets:
        expect(s not in log, f"secret {s[:3]}... is in the session log")
        for o in outputs:
            expect(s not in o, f"secret {s[:3]}... is in phonectl's output")
    for key in ("static.auto_provision.aes_key.com", "static.auto_provision.aes_key.mac", "account.1.password"):
        expect(phone.get(key) in ("", "********"), f"{key} must read masked")


@tap.case("/provision/https/plain")
def _(t):
    srv = https(t)
    srv.put("y000000000000.cfg", common_text())
    srv.put(f"{TEST_MAC}.cfg", mac_text())
    phone = phone_for(t, srv, {"static.security.ca_cert": 1})
    rc, out, err = provision(phone)
    expect(phone.get("account.1.label") == "Common" and phone.get("account.1.user_name") == "alice", out)
    expect(provision_prop(phone, "Server") == srv.url, "Server")
    check_secrets(phone, [out, err], [ACCOUNT_PASSWORD])


@tap.case("/provision/https/legacy-aes-com-and-mac-keys")
def _(t):
    srv = https(t)
    encrypt_legacy(common_text("Encrypted"), srv.put("y000000000000.cfg", b""), key=COM_KEY)
    encrypt_legacy(mac_text("bob"), srv.put(f"{TEST_MAC}.cfg", b""), key=MAC_KEY)
    phone = phone_for(t, srv, {"static.auto_provision.aes_key.com": COM_KEY,
                               "static.auto_provision.aes_key.mac": MAC_KEY})
    rc, out, err = provision(phone)
    expect(phone.get("account.1.label") == "Encrypted" and phone.get("account.1.user_name") == "bob", out)
    expect("AES-encrypted" in out, f"Files should say the files were encrypted: {out}")

    # the MAC key falls back to the common key
    encrypt_legacy(mac_text("carol"), srv.put(f"{TEST_MAC}.cfg", b""), key=COM_KEY)
    phone.set({"static.auto_provision.aes_key.mac": "%NULL%"})
    provision(phone)
    expect(phone.get("account.1.user_name") == "carol", ".mac falls back to .com")

    # failures from here on leave the configuration as it is now
    encrypt_legacy(common_text("Wrong"), srv.put("y000000000000.cfg", b""), key="WrongKey12345678")
    provision_fails(phone, contains=["y000000000000.cfg: wrong AES key"])
    good = encrypt_legacy(common_text("Cut"), srv.put("y000000000000.cfg", b""), key=COM_KEY)
    srv.put("y000000000000.cfg", good[:len(good) - 7])
    provision_fails(phone, contains=["y000000000000.cfg: truncated ciphertext"])
    srv.put("y000000000000.cfg", common_text("Plain"))
    phone.set({"static.auto_provision.update_file_mode": 1})
    provision_fails(phone, contains=["y000000000000.cfg: not encrypted", "update_file_mode"])
    expect(phone.get("account.1.label") == "Encrypted", "nothing of the failed runs may be applied")
    rc, out2, err2 = phone.ctl("provision", "--wait")
    check_secrets(phone, [out, err, out2, err2], [COM_KEY, MAC_KEY, ACCOUNT_PASSWORD])


@tap.case("/provision/https/key-files")
def _(t):
    srv = https(t)
    encrypt_legacy(common_text("KeyFile"), srv.put("y000000000000.cfg", b""))
    encrypt_legacy(mac_text("dave"), srv.put(f"{TEST_MAC}.cfg", b""))
    expect(os.path.exists(os.path.join(srv.www, "y000000000000_Security.enc")), "key file beside the file")
    phone = phone_for(t, srv, {"static.auto_provision.aes_key_in_file": 1})
    rc, out, err = provision(phone)
    expect(phone.get("account.1.label") == "KeyFile" and phone.get("account.1.user_name") == "dave", out)
    expect("y000000000000_Security.enc" in out, f"the key file should be listed: {out}")

    # a key file that is missing, or of another file
    before = effective(phone)
    srv.remove(f"{TEST_MAC}_Security.enc")
    provision_fails(phone, contains=[f"{TEST_MAC}_Security.enc", "HTTP 404", f"key file of {TEST_MAC}.cfg"])
    shutil.copy(os.path.join(srv.www, "y000000000000_Security.enc"), os.path.join(srv.www, f"{TEST_MAC}_Security.enc"))
    provision_fails(phone, contains=[f"{TEST_MAC}.cfg: wrong AES key"])
    expect(effective(phone) == before, "unchanged")


@tap.case("/provision/https/rsa-mode")
def _(t):
    srv = https(t)
    key = rsa_key(tap.dir)
    other = rsa_key(tap.dir, "other-rsa.pem")
    encrypt_rsa(common_text("Rsa"), srv.put("y000000000000.cfg", b""), key)
    encrypt_rsa(mac_text("erin"), srv.put(f"{TEST_MAC}.cfg", b""), key)
    phone = phone_for(t, srv, {"deskphone.provision.rsa_key_file": key})
    rc, out, err = provision(phone)
    expect(phone.get("account.1.label") == "Rsa" and phone.get("account.1.user_name") == "erin", out)
    expect("RSA-encrypted" in out, out)

    encrypt_rsa(common_text("OtherKey"), srv.put("y000000000000.cfg", b""), other)
    provision_fails(phone, contains=["y000000000000.cfg", "wrong RSA key"])
    phone.set({"deskphone.provision.rsa_key_file": "%NULL%"})
    provision_fails(phone, contains=["y000000000000.cfg: RSA-encrypted", "rsa_key_file"])
    expect(phone.get("account.1.label") == "Rsa", "unchanged")


@tap.case("/provision/https/untrusted-ca")
def _(t):
    srv = https(t)
    srv.put("y000000000000.cfg", common_text())
    # our throwaway CA is not in the system's store
    phone = phone_for(t, srv, {"static.security.ca_cert": 0})
    provision_fails(phone, contains=[srv.url + f"{TEST_MAC}.boot", "certificate not trusted (unknown CA"])
    # custom CAs only, and none installed
    phone2 = phone_for(t, srv, {"static.security.ca_cert": 1}, trust=False)
    provision_fails(phone2, contains=["unknown CA", "no custom CA installed"])
    # trust_certificates = 0 accepts any chain (Yealink's "trust all")
    phone3 = phone_for(t, srv, {"static.security.ca_cert": 0, "static.security.trust_certificates": 0})
    provision(phone3)
    expect(phone3.get("account.1.label") == "Common", "trust_certificates = 0")


@tap.case("/provision/https/wrong-host")
def _(t):
    srv = https(t, host="wrong.example")
    srv.put("y000000000000.cfg", common_text())
    phone = phone_for(t, srv)
    provision_fails(phone, contains=["certificate is not for this host name"])
    phone.set({"static.security.cn_validation": 0})
    provision(phone)
    expect(phone.get("account.1.label") == "Common", "cn_validation = 0")


@tap.case("/provision/https/mutual-tls")
def _(t):
    srv = t.add(Lighttpd(t._dir("lighttpd"), tls=ca().server_cert("127.0.0.1"), client_ca=ca().cert)).start()
    srv.put("y000000000000.cfg", common_text("Mutual"))
    phone = phone_for(t, srv)
    provision_fails(phone, contains=[f"{TEST_MAC}.boot"])
    cert, key = ca().server_cert("device.example", usage="tls_www_client")
    phone.ctl_ok("certificate", "install-device", cert, key)
    provision_fails(phone, contains=[f"{TEST_MAC}.boot"])  # static.security.dev_cert = 0: not offered
    phone.set({"static.security.dev_cert": 1})
    provision(phone)
    expect(phone.get("account.1.label") == "Mutual", "mutual TLS with the device certificate")


# ---- the certificate store ----

_ca2 = []


def ca2():
    """A second CA, which the phone does not know until a run installs it."""
    if not _ca2:
        _ca2.append(ThrowawayCa(tap.dir, "ca2"))
    return _ca2[0]


def cert_names(phone):
    return [c["name"] for c in json.loads(phone.ctl_ok("--json", "certificate", "list"))]


def read(path):
    with open(path) as f:
        return f.read()


def store_files(phone):
    """The certificate store's files and what they hold."""
    top = os.path.join(phone.dir, "state", "provd", "certs", "current")  # the generation in use
    out = {}
    for d, _, files in os.walk(top):
        for name in files:
            out[os.path.relpath(os.path.join(d, name), top)] = read(os.path.join(d, name))
    return out


@tap.case("/provision/https/certificates/custom-ca-from-the-store")
def _(t):
    srv = https(t)
    srv.put("y000000000000.cfg", common_text("Store"))
    phone = phone_for(t, srv, {"static.security.ca_cert": 1}, trust=False)
    provision_fails(phone, contains=[f"{TEST_MAC}.boot", "certificate not trusted (unknown CA"])
    expect(cert_names(phone) == [], "no custom CA yet")
    phone.ctl_ok("certificate", "install-ca", ca().cert)
    provision(phone)
    expect(phone.get("account.1.label") == "Store", "the CA installed with phonectl is trusted")
    # ca_cert = 0: the system's CAs only, the store's are not trusted
    phone.set({"static.security.ca_cert": 0})
    provision_fails(phone, contains=["certificate not trusted (unknown CA"])
    phone.set({"static.security.ca_cert": 2})
    provision(phone)
    # removed from the store: no longer trusted
    phone.ctl_ok("certificate", "remove-ca", cert_names(phone)[0])
    phone.set({"static.security.ca_cert": 1})
    provision_fails(phone, contains=["unknown CA"])


@tap.case("/provision/https/certificates/trusted-url-then-delete")
def _(t):
    built("sipd")
    kam_cert, kam_key = ca2().server_cert("127.0.0.1")
    kam = t.kamailio(users={"alice": ACCOUNT_PASSWORD}, tls={"cert": kam_cert, "key": kam_key})
    srv = https(t)
    srv.put("trusted/ca2.pem", read(ca2().cert))
    account = kam.account_cfg(1, "alice", transport="tls", extra={"reg_fail_retry_interval": 1})
    account.update({"account.1.sip_server.1.address": "127.0.0.1", "sip.tls_listen_port": free_port()})
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "WithCa2",
                                           "static.trusted_certificates.url": srv.url + "trusted/ca2.pem"}))
    srv.put(f"{TEST_MAC}.cfg", cfg_text(account))
    phone = phone_for(t, srv, {"static.security.ca_cert": 1}, services=["provd", "sipd"], fake_media=True)
    expect(cert_names(phone) == ["test-ca"], cert_names(phone))
    rc, out, err = provision(phone)
    expect("ca2.pem" in out and "1 CA certificate(s)" in out, f"Files should list the CA file: {out}")
    names = cert_names(phone)
    expect(len(names) == 2, f"Certificates1 should list both CAs: {names}")
    expect(phone.get("account.1.user_name") == "alice", "applied")
    # sipd trusts the provisioned CA for SIP over TLS
    phone.wait("account/1", "State", "registered", timeout=30)
    expect(kam.contacts("alice"), "Kamailio has no binding for alice")
    # a second HTTPS server whose certificate that CA signed
    srv2 = t.add(Lighttpd(t._dir("lighttpd2"), tls=ca2().server_cert("127.0.0.1"), name="lighttpd2")).start()
    srv2.put("y000000000000.cfg", cfg_text({"voice.jib.max": 300}))
    provision(phone, "--url", srv2.url)
    expect(phone.get("voice.jib.max") == "300", "the provisioned CA is trusted by HTTPS too")

    # .delete = http://localhost/all removes every custom CA
    srv.put("y000000000000.cfg", cfg_text({"voice.jib.max": 320,
                                           "static.trusted_certificates.url": "%NULL%",
                                           "static.trusted_certificates.delete": "http://localhost/all"}))
    provision(phone, "--url", srv.url)
    expect(phone.get("voice.jib.max") == "320", "applied")
    expect(cert_names(phone) == [], f"every custom CA removed: {cert_names(phone)}")
    expect("ca-bundle.pem" not in store_files(phone), "no bundle without CAs")
    provision_fails(phone, "--url", srv2.url, contains=["unknown CA"])


@tap.case("/provision/https/certificates/server-certificate-for-mutual-tls")
def _(t):
    srv = https(t)
    mutual = t.add(Lighttpd(t._dir("mutual"), tls=ca().server_cert("127.0.0.1"), client_ca=ca().cert,
                            name="mutual")).start()
    mutual.put("y000000000000.cfg", common_text("Mutual"))
    cert, key = ca().server_cert("device.example", usage="tls_www_client")
    srv.put("device.pem", read(cert) + read(key))
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "Plain", "static.security.dev_cert": 1,
                                           "static.server_certificates.url": srv.url + "device.pem"}))
    phone = phone_for(t, srv, {"static.security.dev_cert": 1})
    provision_fails(phone, "--url", mutual.url, contains=[f"{TEST_MAC}.boot"])
    rc, out, err = provision(phone)
    expect("device.pem" in out and "device certificate" in out, out)
    files = store_files(phone)
    expect("BEGIN CERTIFICATE" in files.get("device.pem", "") and "PRIVATE KEY" in files.get("device.key", ""),
           f"installed in the store: {sorted(files)}")
    mode = os.stat(os.path.join(phone.dir, "state", "provd", "certs", "current", "device.key")).st_mode & 0o777
    expect(mode == 0o600, f"device.key mode {mode:o}")
    provision(phone, "--url", mutual.url)
    expect(phone.get("account.1.label") == "Mutual", "the provisioned device certificate is offered")
    # the key is in no log and in no cache
    key_line = read(key).splitlines()[1]
    expect(key_line not in session_log(phone), "the private key is in the session log")
    cache = os.path.join(phone.dir, "state", "provd", "provision", "cache")
    for d, _, names in os.walk(cache):
        for n in names:
            with open(os.path.join(d, n), "rb") as f:
                expect(key_line.encode() not in f.read(), f"the private key is in the cache ({n})")
    # .delete removes it: the mutual TLS server refuses again
    srv.put("y000000000000.cfg", cfg_text({"static.server_certificates.url": "%NULL%",
                                           "static.server_certificates.delete": "http://localhost/all"}))
    provision(phone, "--url", srv.url)
    expect("device.pem" not in store_files(phone), "removed")
    provision_fails(phone, "--url", mutual.url, contains=[f"{TEST_MAC}.boot"])


@tap.case("/provision/https/certificates/bad-pem-changes-nothing")
def _(t):
    srv = https(t)
    srv.put("y000000000000.cfg", common_text("Before"))
    phone = phone_for(t, srv)
    provision(phone)
    before_store = store_files(phone)
    srv.put("junk.pem", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "After",
                                           "static.trusted_certificates.url": srv.url + "junk.pem"}))
    provision_fails(phone, contains=["junk.pem: no X.509 certificate", "static.trusted_certificates.url"])
    srv.put("text.pem", "hello\n")
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "After",
                                           "static.trusted_certificates.url": srv.url + "text.pem"}))
    provision_fails(phone, contains=["text.pem: not a PEM file"])
    # a good CA file with a server certificate file that has no key: nothing of either
    srv.put("ca2.pem", read(ca2().cert))
    srv.put("nokey.pem", read(ca().server_cert("device.example", usage="tls_www_client")[0]))
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "After",
                                           "static.trusted_certificates.url": srv.url + "ca2.pem",
                                           "static.server_certificates.url": srv.url + "nokey.pem"}))
    provision_fails(phone, contains=["nokey.pem:", "private key", "static.server_certificates.url"])
    srv.put("y000000000000.cfg", cfg_text({"account.1.label": "After",
                                           "static.trusted_certificates.url": srv.url + "missing.pem"}))
    provision_fails(phone, contains=["missing.pem", "HTTP 404", "static.trusted_certificates.url"])
    expect(store_files(phone) == before_store, "the certificate store changed although provisioning failed")
    expect(phone.get("account.1.label") == "Before", "unchanged")


@tap.case("/provision/https/registers-with-provisioned-account")
def _(t):
    built("sipd")
    kam = t.kamailio(users={"alice": ACCOUNT_PASSWORD})
    srv = https(t)
    encrypt_legacy(cfg_text({"account.1.label": "Office"}), srv.put("y000000000000.cfg", b""), key=COM_KEY)
    encrypt_legacy(cfg_text(kam.account_cfg(1, "alice")), srv.put(f"{TEST_MAC}.cfg", b""), key=COM_KEY)
    phone = phone_for(t, srv, {"static.auto_provision.aes_key.com": COM_KEY,
                               "static.auto_provision.power_on": 1},
                      services=["provd", "sipd"], fake_media=True)
    phone.wait("provision", "LastResult", "success", timeout=20)
    phone.wait("account/1", "State", "registered", timeout=20)
    expect(kam.contacts("alice"), "Kamailio has no binding for alice")
    check_secrets(phone, [], [COM_KEY, ACCOUNT_PASSWORD])


tap.run()
