#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sipd over TLS (issue 5), against Kamailio's TLS module (OpenSSL) on
127.0.0.1, with a throwaway PKI made here by certtool.

A phone registers over TLS with the name check on; a server certificate
from an unknown CA, for another host, expired, not yet valid or self-signed
is refused within a second with that reason on LastError, and nothing is
sent in the clear instead (Kamailio sees no REGISTER at all, a UDP socket on
the TLS port number gets nothing, a UDP failover server is never used).
A new trust set applies to a registered account; a server that goes away is
noticed within a second or so, a silent one by sipd's OPTIONS keep-alive
(answer due within 10 s, so within nat.udp_update_time + 10 s). CAs
and the device certificate come from provd's store (phonectl certificate):
mutual TLS with and without it; two phones call each other through Kamailio
over TLS, also with SRTP compulsory and the real mediad (the tone heard both
ways; tshark on lo: no RTP payload is one the same tone gives in the clear).
baresip with mediaenc=srtp-mand over TLS: the phone calls it directly at its
sips: URI, and it calls the phone through Kamailio's TLS; the tone is heard
both ways and nothing clear crosses lo. Every TLS handshake
is GnuTLS's (the sipd log names the session as GnuTLS describes it, and the
ABI self-check passed), never sofia-sip's OpenSSL layer.
"""
import json
import math
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import wave

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import LOOPBACK, Tap, _descendants, built, expect, free_port, wait_until  # noqa: E402
from capture import Capture, payloads, periodic_share  # noqa: E402
from audio import analyse, expect_tone  # noqa: E402
from audio import write_tone as write_audio_tone  # noqa: E402

tap = Tap()
tap.require("certtool", "kamailio")
USERS = {"alice": "alice-Secret1", "bob": "bob-Secret2"}
SERVICES = ["provd", "sipd"]
FAIL_WITHIN_MS = 1000


# ---- a throwaway PKI ----

class Pki:
    """A CA the phones trust, one they do not, and server certificates good and bad."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "pki")
        self.cadir = os.path.join(self.dir, "trusted")   # deskphone.security.ca_dir
        os.makedirs(self.cadir)
        self.serial = 100
        self.ca = self._ca("ca", "deskphone test CA")
        self.other_ca = self._ca("other-ca", "Unknown CA")
        os.link(self.ca + ".pem", os.path.join(self.cadir, "ca.pem"))
        here = ['ip_address = "127.0.0.1"', 'dns_name = "localhost"']
        self.good = self.leaf("good", "localhost", here)
        self.wrong_host = self.leaf("wrong-host", "other.example.test", ['dns_name = "other.example.test"'])
        self.expired = self.leaf("expired", "localhost", here, dates=("2020-01-01 00:00:00", "2021-01-01 00:00:00"))
        self.not_yet = self.leaf("not-yet-valid", "localhost", here,
                                 dates=("2099-01-01 00:00:00", "2100-01-01 00:00:00"))
        self.unknown_ca = self.leaf("unknown-ca", "localhost", here, ca=self.other_ca)
        self.self_signed = self.leaf("self-signed", "localhost", here, ca=None)
        both = ("tls_www_server", "tls_www_client")
        self.phone_a = self.leaf("phone-a", "phone-a", here, usage=both)
        self.phone_b = self.leaf("phone-b", "phone-b", here, usage=both)

    def _run(self, *args):
        p = subprocess.run(["certtool", *args], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"certtool {' '.join(args)}: {p.stderr}")

    def _template(self, name, lines):
        path = os.path.join(self.dir, name + ".tmpl")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def _key(self, name):
        key = os.path.join(self.dir, name + ".key")
        self._run("--generate-privkey", "--key-type", "ecdsa", "--outfile", key)
        return key

    def _ca(self, name, cn):
        key = self._key(name)
        self.serial += 1
        tmpl = self._template(name, [f'cn = "{cn}"', "ca", "cert_signing_key", "expiration_days = 30",
                                     f"serial = {self.serial}"])
        self._run("--generate-self-signed", "--load-privkey", key, "--template", tmpl,
                  "--outfile", os.path.join(self.dir, name + ".pem"))
        return os.path.join(self.dir, name)

    def leaf(self, name, cn, names, dates=None, ca="default", usage=("tls_www_server",)):
        """(cert, key) paths of a certificate signed by ca (None: self-signed)."""
        ca = self.ca if ca == "default" else ca
        key = self._key(name)
        self.serial += 1
        lines = [f'cn = "{cn}"', *names, *usage, "signing_key", f"serial = {self.serial}"]
        if dates:
            lines += [f'activation_date = "{dates[0]}"', f'expiration_date = "{dates[1]}"']
        else:
            lines.append("expiration_days = 30")
        tmpl = self._template(name, lines)
        cert = os.path.join(self.dir, name + ".pem")
        if ca is None:
            self._run("--generate-self-signed", "--load-privkey", key, "--template", tmpl, "--outfile", cert)
        else:
            self._run("--generate-certificate", "--load-privkey", key, "--load-ca-certificate", ca + ".pem",
                      "--load-ca-privkey", ca + ".key", "--template", tmpl, "--outfile", cert)
        return cert, key


pki = Pki(tap.dir)


# ---- peers and phones ----

def tls_kamailio(t, cert, **kw):
    """Kamailio with UDP and TCP on kam.port and TLS (cert) on kam.tls_port."""
    return t.kamailio(users=USERS, tls={"cert": cert[0], "key": cert[1], **kw})


def tls_cfg(kam, user="alice", n=1, host=LOOPBACK, extra=None, ca_dir=True, **keys):
    """Account n registering as user over TLS to kam, trusting only the test CA
    (from deskphone.security.ca_dir; ca_dir=False: from provd's store only)."""
    cfg = kam.account_cfg(n, user, transport="tls", extra=dict({"reg_fail_retry_interval": 1}, **(extra or {})))
    cfg[f"account.{n}.sip_server.1.address"] = host
    cfg.update({
        "sip.tls_listen_port": free_port(),
        "static.security.ca_cert": 1,
        "static.security.cn_validation": 1,
        "deskphone.security.ca_dir": pki.cadir if ca_dir else "",
    })
    cfg.update(keys)
    return cfg


def sip_phone(t, cfg, name=None, fake_media=False):
    built("sipd")
    return t.phone(cfg=cfg, services=SERVICES, name=name, fake_media=fake_media)


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def sipd_log(phone):
    return [line for line in read(phone.log_path).splitlines() if re.match(r"^\S+ sipd\[\d+\] ", line)]


def log_ms(line):
    h, m, s = line.split(" ", 1)[0].split(":")
    return (int(h) * 3600 + int(m) * 60 + float(s)) * 1000


def registration_ms(phone, outcome):
    """ms from sipd's last 'registering' to the next line with outcome, from its log."""
    lines = sipd_log(phone)
    starts = [i for i, line in enumerate(lines) if "Account 1: registering " in line]
    expect(starts, "sipd never started a REGISTER")
    for line in lines[starts[-1]:]:
        if outcome in line:
            return log_ms(line) - log_ms(lines[starts[-1]])
    raise AssertionError(f"no '{outcome}' after the last REGISTER in sipd's log")


def expect_gnutls(phone, kam_port):
    """The handshake to kam_port was GnuTLS's, in sipd, with its ABI self-check passed."""
    log = "\n".join(sipd_log(phone))
    expect(re.search(r"SIP over TLS through GnuTLS [0-9.]+: sofia-sip-\S+ internals checked, "
                     r"its TLS layer is ours \(GnuTLS \(deskphone sipd\)\)", log),
           "sipd did not log its TLS ABI self-check passing")
    expect("internals differ" not in log, "the ABI self-check failed")
    m = re.search(rf"TLS to {re.escape(LOOPBACK)}:{kam_port}: (\(TLS1\.[23]\)-\S+) in (\d+) µs", log)
    expect(m, f"no GnuTLS handshake to port {kam_port} in sipd's log")
    return m.group(1), int(m.group(2)) / 1000


def kamailio_requests(kam, method="REGISTER"):
    """(proto, from) of every request method Kamailio's script saw."""
    return re.findall(rf"<script>: {method} \S+ from (\S+) \((\w+):", read(kam.log_path))


class UdpTrap:
    """A UDP socket on a port: a phone that fell back to UDP would send there."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, port))
        self.sock.setblocking(False)

    def received(self):
        try:
            return self.sock.recv(65536)
        except BlockingIOError:
            return None
        finally:
            self.sock.close()


# ---- registering ----

@tap.case("/sip/tls/register")
def _(t):
    kam = tls_kamailio(t, pki.good)
    phone = sip_phone(t, tls_cfg(kam))
    phone.wait("account/1", "State", "registered", timeout=10)
    props = phone.properties("account/1")
    expect(props["Transport"] == "tls", f"Transport {props['Transport']!r}")
    expect(props["Uri"] == f"sips:alice@{LOOPBACK}", f"Uri {props['Uri']!r}")
    expect(props["LastError"] == "", f"LastError {props['LastError']!r}")
    bindings = kam.bindings("alice")
    expect(bindings and all(b.get("Socket", "").startswith("tls:") for b in bindings),
           f"the binding did not come over TLS: {bindings}")
    expect(all(proto == "tls" for _, proto in kamailio_requests(kam)), "a REGISTER came in the clear")
    session, handshake_ms = expect_gnutls(phone, kam.tls_port)
    t.tap._diag(f"registered over {session}: handshake {handshake_ms:.1f} ms, "
                f"REGISTER to 200 {registration_ms(phone, 'registered for'):.0f} ms")


# ---- refused, fast, with the reason, and never in the clear ----

def refused_case(name, cert_attr, reason):
    @tap.case(f"/sip/tls/refused/{name}")
    def _(t):
        kam = tls_kamailio(t, getattr(pki, cert_attr))
        trap = UdpTrap(kam.tls_port)
        phone = sip_phone(t, tls_cfg(kam))
        phone.wait("account/1", "State", "failed", timeout=10)
        error = phone.properties("account/1")["LastError"]
        expect(error == f"503 TLS: {reason}", f"LastError {error!r}, expected '503 TLS: {reason}'")
        ms = registration_ms(phone, "registration failed")
        expect(ms < FAIL_WITHIN_MS, f"refused after {ms:.0f} ms")
        # the retry that follows must stay on TLS too
        phone.wait("account/1", "State", "registering", timeout=10)
        phone.wait("account/1", "State", "failed", timeout=10)
        expect(kamailio_requests(kam) == [], f"Kamailio received a REGISTER: {kamailio_requests(kam)}")
        expect(trap.received() is None, "a datagram arrived on the TLS port number")
        t.tap._diag(f"refused ({reason}) {ms:.0f} ms after the REGISTER started")


refused_case("unknown-ca", "unknown_ca", "unknown CA")
refused_case("wrong-host", "wrong_host", "name mismatch")
refused_case("expired", "expired", "expired")
refused_case("not-yet-valid", "not_yet", "not yet valid")
refused_case("self-signed", "self_signed", "self-signed")


@tap.case("/sip/tls/refused/no-failover-to-udp")
def _(t):
    """Server 2 is over UDP: a TLS server that keeps failing is not left for it."""
    kam = tls_kamailio(t, pki.unknown_ca)
    phone = sip_phone(t, tls_cfg(kam, extra={
        "sip_server.1.retry_counts": 1,
        "sip_server.2.address": LOOPBACK, "sip_server.2.port": kam.port, "sip_server.2.transport_type": 0}))
    phone.wait("account/1", "State", "failed", timeout=10)
    # past retry_counts: the retries that follow stay on TLS, never server 2 over UDP
    for _ in range(2):
        phone.wait("account/1", "State", "registering", timeout=10)
        phone.wait("account/1", "State", "failed", timeout=10)
        props = phone.properties("account/1")
        expect(props["Transport"] == "tls", f"account: {props}")
        expect(props["LastError"].startswith("503 TLS:"), f"account: {props}")
    expect(kamailio_requests(kam) == [], f"a REGISTER reached Kamailio: {kamailio_requests(kam)}")


# ---- changes ----

@tap.case("/sip/tls/new-trust-set-applies-to-a-registered-account")
def _(t):
    kam = tls_kamailio(t, pki.good)
    phone = sip_phone(t, tls_cfg(kam))
    phone.wait("account/1", "State", "registered", timeout=10)
    # the system CAs only: the test CA is not among them
    phone.set({"static.security.ca_cert": 0})
    phone.wait("account/1", "State", "failed", timeout=10)
    error = phone.properties("account/1")["LastError"]
    expect(error == "503 TLS: unknown CA", f"LastError {error!r}")
    phone.set({"static.security.ca_cert": 2})
    phone.wait("account/1", "State", "registered", timeout=10)


@tap.case("/sip/tls/server-goes-away")
def _(t):
    """The server closes the connection: noticed within a second or so (nua
    registers again on a new connection), the reason on LastError; when it is
    back, registered again by itself."""
    kam = tls_kamailio(t, pki.good)
    phone = sip_phone(t, tls_cfg(kam))
    phone.wait("account/1", "State", "registered", timeout=10)
    kam.stop()
    stopped = time.monotonic()
    phone.wait("account/1", "State", "failed", timeout=10)
    noticed = time.monotonic() - stopped
    error = phone.properties("account/1")["LastError"]
    expect(error == "503 TLS: connection refused", f"LastError {error!r}")
    # nua registers again "at once" when the connection closes, on its 1 s clock
    expect(noticed < 2, f"noticed {noticed:.2f} s after Kamailio had stopped")
    t.tap._diag(f"server gone: '{error}' {1000 * noticed:.0f} ms after Kamailio had stopped")
    kam.start()
    phone.wait("account/1", "State", "registered", timeout=20)


def stop_kamailio(kam, sig):
    for pid in [kam.proc.pid] + _descendants(kam.proc.pid):
        os.kill(pid, sig)


def sipd_connections(phone, port):
    """Local ports of the established TCP connections to port that the
    phone's sipd holds (ss -tnp: a socket sipd closed has no process)."""
    sipd = {pid for pid in _descendants(phone.proc.pid) if read(f"/proc/{pid}/comm").strip() == "sipd"}
    out = subprocess.run(["ss", "-Htnp", "state", "established", "dst", f"{LOOPBACK}:{port}"],
                         capture_output=True, text=True, check=True).stdout
    return {int(m.group(1)) for m in re.finditer(r":(\d+)\s+\S+:\d+\s+users:\(\(\"sipd\",pid=(\d+)", out)
            if int(m.group(2)) in sipd}


def silent_server_case(transport):
    def run(t):
        """A server that stops answering but keeps the connection open (stopped
        with SIGSTOP, as a dead NAT or a hung host looks). sipd's own OPTIONS
        keep-alive (every nat.udp_update_time, 15 s here) must be answered
        within 10 s: the account fails within 15 + 10 s of the server going
        silent, with the reason; once the server answers again, the account
        registers again by itself. Over TLS it is on whenever
        nat.udp_update_enable is not 0; over TCP with 2 (OPTIONS).
        The dead connection is closed when the keep-alive fails (its socket is
        gone while the server is still stopped; over TCP sipd ends sofia's
        socket with shutdown()), so the retry opens a new one at once rather
        than queue behind it until timer F (32 s)."""
        interval = 15
        if transport == "tls":
            kam = tls_kamailio(t, pki.good)
            cfg = tls_cfg(kam, extra={"nat.udp_update_time": interval})
        else:
            kam = t.kamailio(users=USERS)
            cfg = kam.account_cfg(1, "alice", transport=transport, extra={
                "reg_fail_retry_interval": 1, "nat.udp_update_enable": 2, "nat.udp_update_time": interval})
        phone = sip_phone(t, cfg)
        phone.wait("account/1", "State", "registered", timeout=10)

        # a keep-alive answered first: no failure while the server is there
        def keepalives():  # not the harness's probe that saw Kamailio start
            return [proto for sender, proto in kamailio_requests(kam, "OPTIONS") if "alice" in sender]
        wait_until(keepalives, interval + 5, "a keep-alive OPTIONS at Kamailio", interval=0.2)
        expect(keepalives() == [transport], f"keep-alives came as {keepalives()}")
        expect(phone.properties("account/1")["State"] == "registered", "failed while the server answered")
        server_port = kam.tls_port if transport == "tls" else kam.port
        old = sipd_connections(phone, server_port)
        expect(len(old) == 1, f"sipd's connections to the server: {sorted(old)}")
        stop_kamailio(kam, signal.SIGSTOP)
        start = time.monotonic()
        try:
            phone.wait("account/1", "State", "failed", timeout=interval + 10 + 10)
            elapsed = time.monotonic() - start
            # closed before the account failed: gone at once, the server still stopped
            expect(not old & sipd_connections(phone, server_port),
                   f"the dead connection (local port {sorted(old)}) is still open")
        finally:
            stop_kamailio(kam, signal.SIGCONT)
        error = phone.properties("account/1")["LastError"]
        expect(error == "408 No answer within 10 s (keep-alive)", f"LastError {error!r}")
        expect(elapsed < interval + 10 + 2, f"noticed after {elapsed:.1f} s")
        resumed = time.monotonic()
        phone.wait("account/1", "State", "registered", timeout=30)
        back = time.monotonic() - resumed
        expect(any("did not answer a keep-alive" in line for line in sipd_log(phone)),
               "sipd did not log the unanswered keep-alive")
        expect(any(f"1 connection(s) to {LOOPBACK}:{server_port} closed" in line for line in sipd_log(phone)),
               "sipd did not close the dead connection")
        new = sipd_connections(phone, server_port)
        expect(new and not new & old, f"registered again on {sorted(new)}, the old connection was {sorted(old)}")
        # the retry (reg_fail_retry_interval = 1 s) on a new connection, not timer F (32 s) on the old one
        expect(back < 5, f"registered again {back:.1f} s after SIGCONT")
        t.tap._diag(f"{transport}: silent server noticed {elapsed:.1f} s after SIGSTOP (keep-alive every "
                    f"{interval} s, answer within 10 s); registered again {back:.1f} s after SIGCONT")
    return run


tap.case("/sip/tls/keepalive/silent-server")(silent_server_case("tls"))
tap.case("/sip/tls/keepalive/silent-server-over-tcp")(silent_server_case("tcp"))


# ---- provd's certificate store (org.deskphone.Certificates1, phonectl certificate) ----

def certificates(phone):
    return json.loads(phone.ctl_ok("--json", "certificate", "list"))


@tap.case("/sip/tls/store/install-and-remove-ca")
def _(t):
    """A CA installed with phonectl is trusted at once (the failed account
    registers), removing it is noticed at once too."""
    kam = tls_kamailio(t, pki.good)
    phone = sip_phone(t, tls_cfg(kam, ca_dir=False))
    phone.wait("account/1", "State", "failed", timeout=10)
    expect(phone.properties("account/1")["LastError"] == "503 TLS: unknown CA", "trusted without the CA")
    name = phone.ctl_ok("certificate", "install-ca", pki.ca + ".pem").strip()
    expect(name == "deskphone-test-CA", f"installed as {name!r}")
    phone.wait("account/1", "State", "registered", timeout=10)
    listed = certificates(phone)
    expect([c["name"] for c in listed] == [name], f"listed: {listed}")
    expect("CN=deskphone test CA" in listed[0]["subject"] and listed[0]["not_after"] > time.time(),
           f"listed: {listed}")
    # the same file again: the same name, nothing new
    expect(phone.ctl_ok("certificate", "install-ca", pki.ca + ".pem").strip() == name, "installed twice")
    phone.ctl_ok("certificate", "remove-ca", name)
    phone.wait("account/1", "State", "failed", timeout=10)
    expect(certificates(phone) == [], "still listed")
    rc, _, err = phone.ctl("certificate", "remove-ca", name)
    expect(rc == 3, f"removing it twice: exit {rc} {err}")


@tap.case("/sip/tls/store/refuses-garbage")
def _(t):
    phone = sip_phone(t, {})
    bad = os.path.join(t.tap.dir, "not-a-certificate.pem")
    with open(bad, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    rc, _, err = phone.ctl("certificate", "install-ca", bad)
    expect(rc == 4 and "no X.509 certificate" in err, f"exit {rc}: {err}")
    rc, _, err = phone.ctl("certificate", "install-ca", pki.ca + ".pem", "../escape")
    expect(rc == 4 and "is not a name" in err, f"exit {rc}: {err}")
    # a key that is not the certificate's
    rc, _, err = phone.ctl("certificate", "install-device", pki.phone_a[0], pki.phone_b[1])
    expect(rc == 4 and "does not belong" in err, f"exit {rc}: {err}")
    expect(certificates(phone) == [], "something was installed")



@tap.case("/sip/tls/store/device-key-only-for-sipd")
def _(t):
    """The device certificate's key goes to the owner of org.deskphone.Sip1
    only; anyone may read the CAs."""
    phone = sip_phone(t, {})
    install_device(phone, pki.phone_a)
    phone.ctl_ok("certificate", "install-ca", pki.ca + ".pem")
    rc, out, err = phone.busctl("call", "org.deskphone.Config1", "/org/deskphone/Certificates1",
                                "org.deskphone.Certificates1", "GetDeviceCertificate")
    expect(rc != 0 and "only for org.deskphone.Sip1" in err and "PRIVATE" not in out,
           f"busctl: exit {rc}: {out[:200]} {err}")
    rc, out, err = phone.busctl("call", "org.deskphone.Config1", "/org/deskphone/Certificates1",
                                "org.deskphone.Certificates1", "GetTrustedCertificates")
    expect(rc == 0 and "deskphone-test-CA" in out, f"busctl: exit {rc}: {err}")
    # sipd fetches them when provd signals the change
    wait_until(lambda: any("Certificates from provd: 1 custom CA(s), a device certificate" in line
                           for line in sipd_log(phone)), 10, "sipd to get them", interval=0.1)


def install_device(phone, cert):
    phone.ctl_ok("certificate", "install-device", cert[0], cert[1])


@tap.case("/sip/tls/mutual/with-device-certificate")
def _(t):
    kam = tls_kamailio(t, pki.good, ca=pki.ca + ".pem", require_client_cert=True)
    phone = sip_phone(t, tls_cfg(kam, **{"static.security.dev_cert": 1}))
    install_device(phone, pki.phone_a)
    phone.wait("account/1", "State", "registered", timeout=10)
    expect(kamailio_requests(kam) and all(p == "tls" for _, p in kamailio_requests(kam)), "REGISTER not over TLS")


@tap.case("/sip/tls/mutual/without-device-certificate")
def _(t):
    """The server asks for a certificate and gets none (dev_cert=0): refused,
    with the server's reason, within a second; nothing in the clear."""
    kam = tls_kamailio(t, pki.good, ca=pki.ca + ".pem", require_client_cert=True)
    trap = UdpTrap(kam.tls_port)
    phone = sip_phone(t, tls_cfg(kam))
    phone.wait("account/1", "State", "failed", timeout=10)
    error = phone.properties("account/1")["LastError"]
    expect(error.startswith("503 TLS: refused by the server"), f"LastError {error!r}")
    ms = registration_ms(phone, "registration failed")
    expect(ms < FAIL_WITHIN_MS, f"refused after {ms:.0f} ms")
    expect(kamailio_requests(kam) == [], "Kamailio received a REGISTER")
    expect(trap.received() is None, "a datagram arrived on the TLS port number")
    t.tap._diag(f"{error} {ms:.0f} ms after the REGISTER started")


# ---- calls ----

def dial(phone, uri):
    path = phone.ctl_ok("dial", uri).strip()
    expect(path.startswith("/org/deskphone/Sip1/call/"), f"dial printed {path!r}")
    return "call/" + path.rsplit("/", 1)[1]


@tap.case("/sip/tls/call/two-phones-through-kamailio")
def _(t):
    """alice calls bob through Kamailio, both over TLS: Kamailio reaches bob
    on his TLS listening side (his device certificate), everything in TLS."""
    kam = tls_kamailio(t, pki.good)
    trap = UdpTrap(kam.tls_port)
    a = sip_phone(t, tls_cfg(kam, "alice"), name="alice", fake_media=True)
    b = sip_phone(t, tls_cfg(kam, "bob"), name="bob", fake_media=True)
    install_device(a, pki.phone_a)
    install_device(b, pki.phone_b)
    a.wait("account/1", "State", "registered", timeout=10)
    b.wait("account/1", "State", "registered", timeout=10)
    call = dial(a, "bob")
    b.wait("call/1", "State", "incoming", timeout=10)
    b.ctl_ok("answer")
    a.wait(call, "State", "active", timeout=10)
    b.wait("call/1", "State", "active", timeout=10)
    a.ctl_ok("hangup")
    b.wait("call/1", "State", "ended", timeout=10)
    for method in ("INVITE", "ACK", "BYE"):
        seen = kamailio_requests(kam, method)
        expect(seen and all(p == "tls" for _, p in seen), f"{method}s reached Kamailio as {seen}")
    expect(trap.received() is None, "a datagram arrived on the TLS port number")
    blog = "\n".join(sipd_log(b))
    expect(re.search(r"TLS from 127\.0\.0\.1:\d+: \(TLS1\.[23]\)", blog), "bob was not reached over TLS")


# ---- with the real mediad: SRTP compulsory over TLS, audio checked ----

RATE = 16000
TONE_HZ, TONE_DBFS = 1000.0, -10.0


def write_tone(path, seconds=2):
    amp = 10 ** (TONE_DBFS / 20) * 32767
    frames = b"".join(struct.pack("<h", int(round(amp * math.sin(2 * math.pi * TONE_HZ * i / RATE))))
                      for i in range(int(RATE * seconds)))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames)


def tone_level(path):
    """(dB of 1 kHz against what was sent, its share of the power), mid-call."""
    with wave.open(path, "rb") as w:
        data = w.readframes(w.getnframes())
    x = struct.unpack(f"<{len(data) // 2}h", data)
    win = x[int(0.8 * RATE):len(x) - int(0.5 * RATE)]
    expect(len(win) >= RATE, f"{path}: only {len(x) / RATE:.2f} s of audio")
    c = 2 * math.cos(2 * math.pi * TONE_HZ / RATE)
    s1 = s2 = 0.0
    for v in win:
        s1, s2 = v + c * s1 - s2, s1
    tone = math.sqrt(2 * max(s1 * s1 + s2 * s2 - c * s1 * s2, 0)) / len(win)
    rms = math.sqrt(sum(v * v for v in win) / len(win))
    sent = 10 ** (TONE_DBFS / 20) * 32767 / math.sqrt(2)
    return 20 * math.log10(max(tone, 1e-9) / sent), (tone / rms) ** 2 if rms else 0


def media_phone(t, kam, user, cert):
    built("mediad")
    d = os.path.join(t.tap.dir, f"media-{user}")
    os.makedirs(d, exist_ok=True)
    capture, playback = os.path.join(d, "in.wav"), os.path.join(d, "out.wav")
    write_tone(capture)
    cfg = tls_cfg(kam, user, extra={"srtp_encryption": 2, "codec.pcmu.enable": 1, "codec.pcmu.priority": 1,
                                    "codec.pcma.enable": 0, "codec.g722.enable": 0, "codec.opus.enable": 0})
    cfg.update({"deskphone.audio.capture_device": "file:" + capture,
                "deskphone.audio.playback_device": "file:" + playback})
    built("sipd")
    phone = t.phone(cfg=cfg, services=SERVICES + ["mediad"], name=user)
    phone.playback = playback
    install_device(phone, cert)
    phone.wait("account/1", "State", "registered", timeout=10)
    return phone


def stream_port(phone):
    streams = phone.objects("stream/")
    expect(len(streams) == 1, f"{phone.name}: {len(streams)} streams")
    return next(iter(streams.values()))["LocalPort"]


def audio_flows(phone, packets, timeout=10):
    """Until the phone's stream received `packets` more RTP packets (20 ms
    each; the statistics are updated once a second): a capture's length,
    measured rather than slept."""
    def received():
        return next(iter(phone.objects("stream/").values()))["PacketsReceived"]
    start = received()
    wait_until(lambda: received() >= start + packets, timeout, f"{packets} RTP packets at {phone.name}",
               interval=0.2)


def media_call(t, a, b, b_call, encryption):
    """alice calls bob through Kamailio, bob answers, the media is captured on
    lo (their two RTP ports only: other tests run on lo too) while bob
    receives 125 packets (2.5 s), alice hangs up. The RTP payloads seen, or
    None when tshark cannot capture here."""
    call = dial(a, "bob")
    b.wait(b_call, "State", "incoming", timeout=10)
    b.ctl_ok("answer", b_call)
    a.wait(call, "State", "active", timeout=10)
    a.wait(call, "MediaEncryption", encryption, timeout=10)
    b.wait(b_call, "MediaEncryption", encryption, timeout=10)
    cap = Capture.start(t, [stream_port(a), stream_port(b)])
    audio_flows(b, 125)
    seen = payloads(cap.stop()) if cap else None
    a.ctl_ok("hangup", call)
    a.wait(call, "State", "ended", timeout=10)
    b.wait(b_call, "State", "ended", timeout=10)
    return seen


@tap.case("/sip/tls/call/srtp-compulsory-real-mediad")
def _(t):
    """Signalling over TLS, media SRTP (account.N.srtp_encryption = 2), with
    the real mediad: each side hears the other's tone. The wire, captured on
    lo: no RTP payload of the SRTP call is one that the same tone gives in the
    clear (a second call with SRTP off is the reference), none repeats, none
    looks like G.711 of a tone."""
    kam = tls_kamailio(t, pki.good)
    a = media_phone(t, kam, "alice", pki.phone_a)
    b = media_phone(t, kam, "bob", pki.phone_b)
    srtp = media_call(t, a, b, "call/1", "srtp")
    for p in (a, b):  # the playback file is complete once mediad closed the audio device
        p.wait("media", "AudioActive", "false")
    for p, other in ((a, "bob"), (b, "alice")):
        level, share = tone_level(p.playback)
        expect(abs(level) <= 1.0 and share > 0.9, f"{p.name} <- {other}: {level:+.2f} dB, {100 * share:.0f}%")
        t.tap._diag(f"{p.name} <- {other} (SRTP, signalling over TLS): 1 kHz at {level:+.2f} dB")
    seen = kamailio_requests(kam, "INVITE") + kamailio_requests(kam, "BYE")
    expect(seen and all(proto == "tls" for _, proto in seen), f"requests reached Kamailio as {seen}")
    if srtp is None:
        t.tap._diag("tshark cannot capture on lo here: the wire is not checked")
        return

    # the reference: the same phones and tone, SRTP off (the new label says sipd has the change)
    for p in (a, b):
        p.set({"account.1.srtp_encryption": 0, "account.1.label": "clear"})
        p.wait("account/1", "Label", "clear", timeout=10)
    clear = media_call(t, a, b, "call/2", "none")
    clear_set = set(clear)
    clear_share = sum(periodic_share(p) for p in clear) / max(len(clear), 1)
    t.tap._diag(f"clear call on lo: {len(clear)} RTP packets, {len(clear_set)} distinct payloads, "
                f"{100 * clear_share:.0f}% of each repeating after 8 bytes")
    expect(len(clear) > 100 and 0 < len(clear_set) <= 8 and clear_share > 0.9,
           "the clear reference does not look like G.711 of a tone")

    same = sum(1 for p in srtp if p[:160] in clear_set)
    share = sum(periodic_share(p) for p in srtp) / max(len(srtp), 1)
    t.tap._diag(f"SRTP call on lo: {len(srtp)} RTP packets, {same} with a clear payload, {len(set(srtp))} "
                f"distinct, {100 * share:.1f}% repeating after 8 bytes")
    expect(len(srtp) > 100 and same == 0, f"{same} of {len(srtp)} SRTP payloads are clear ones")
    expect(len(set(srtp)) == len(srtp) and share < 0.05, "the SRTP payloads on lo do not look encrypted")


# ---- baresip with SRTP compulsory, over TLS, directly (no server) ----

def baresip_pem():
    """baresip's certificate for 127.0.0.1 from the test CA, with its key in the same file."""
    cert, key = pki.leaf("baresip", "baresip", ['ip_address = "127.0.0.1"', 'dns_name = "localhost"'],
                         usage=("tls_www_server", "tls_www_client"))
    pem = os.path.join(pki.dir, "baresip-cert-and-key.pem")
    with open(pem, "w") as f:
        f.write(read(cert) + read(key))
    return pem


def direct_tls_phone(t):
    """alice, no server, SRTP compulsory, PCMU only, trusting the test CA with
    the name check on, the device certificate for its TLS listening side."""
    built("sipd")
    built("mediad")
    d = os.path.join(t.tap.dir, re.sub(r"[^A-Za-z0-9]+", "-", t.name).strip("-"))
    os.makedirs(d, exist_ok=True)
    capture, playback = os.path.join(d, "alice-in.wav"), os.path.join(d, "alice-out.wav")
    write_audio_tone(capture, rate=RATE)
    cfg = {"account.1.enable": 1, "account.1.user_name": "alice", "account.1.label": "alice",
           "account.1.srtp_encryption": 2, "account.1.codec.pcmu.enable": 1, "account.1.codec.pcmu.priority": 1,
           "account.1.codec.pcma.enable": 0, "account.1.codec.g722.enable": 0, "account.1.codec.opus.enable": 0,
           "sip.tls_listen_port": free_port(), "static.security.ca_cert": 1, "static.security.cn_validation": 1,
           "deskphone.security.ca_dir": pki.cadir,
           "deskphone.audio.capture_device": "file:" + capture, "deskphone.audio.playback_device": "file:" + playback}
    phone = t.phone(cfg=cfg, services=SERVICES + ["mediad"], name="alice")
    phone.playback = playback
    phone.tls_port = cfg["sip.tls_listen_port"]
    install_device(phone, pki.phone_a)
    # its TLS listening side has the certificate once sipd says so
    wait_until(lambda: any("custom CA(s), a device certificate" in line for line in sipd_log(phone)), 10,
               "sipd to have the device certificate", interval=0.1)
    return phone


def tls_baresip(t, **kw):
    t.require("baresip")
    from baresip import require_modules, start_baresip
    require_modules("srtp", "g711")
    return start_baresip(t, codecs=["PCMU"], mediaenc="srtp-mand", tls={"cert": baresip_pem(), "ca": pki.ca + ".pem"},
                         **kw)


def baresip_call_checks(t, phone, bs, call, baresip_hangs_up):
    """The call is up: SRTP both ways with the tone, nothing clear on lo; then the hangup."""
    phone.wait(call, "State", "active", timeout=10)
    phone.wait(call, "MediaEncryption", "srtp", timeout=10)
    cap = Capture.start(t, [stream_port(phone), bs.rtp_port])
    audio_flows(phone, 150)  # the call's length
    seen = payloads(cap.stop()) if cap else None
    s = next(iter(phone.objects("stream/").values()))
    t.tap._diag(f"phone: {s['Encryption']}, {s['PacketsReceived']} received, {s['PacketsLost']} lost, "
                f"{s['SrtpAuthFailures']} auth failures")
    expect(s["Encryption"].startswith("srtp:") and s["PacketsReceived"] > 100 and s["SrtpAuthFailures"] == 0,
           f"phone's stream: {s}")
    if baresip_hangs_up:
        bs.hangup()
    else:
        phone.ctl_ok("hangup", call)
    phone.wait(call, "State", "ended", timeout=10)
    bs.event("CALL_CLOSED")
    # both write their files until they close them: stop them first
    bs.stop()
    phone.stop()
    m = re.search(r"srtp: audio: SRTP is Enabled \(cryptosuite=(\w+)\)", bs.log_text())
    expect(m, "baresip did not enable SRTP")
    t.tap._diag(f"baresip: SRTP {m.group(1)}")
    for what, path in (("phone <- baresip", phone.playback), ("baresip <- phone", bs.decoded())):
        t.tap._diag(expect_tone(analyse(path), f"{what} (SRTP, TLS)"))
    if seen is None:
        t.tap._diag("tshark cannot capture on lo here: the wire is not checked")
        return
    share = sum(periodic_share(p) for p in seen) / max(len(seen), 1)
    t.tap._diag(f"on lo: {len(seen)} RTP packets, {len(set(seen))} distinct, {100 * share:.1f}% repeating after "
                f"8 bytes")
    expect(len(seen) > 200 and len(set(seen)) == len(seen) and share < 0.05, "clear RTP on lo")


@tap.case("/sip/tls/baresip/phone-calls")
def _(t):
    """The phone (SRTP compulsory) calls baresip (mediaenc=srtp-mand) at its
    sips: URI, directly over TLS, baresip's certificate checked against the
    test CA with the name check on. The phone hangs up: baresip 1.0.0 sends
    no request to the phone's sips: Contact (see the next case)."""
    phone = direct_tls_phone(t)
    bs = tls_baresip(t)
    path = phone.ctl_ok("dial", bs.sips_uri, "--account", "1").strip()
    call = "call/" + path.rsplit("/", 1)[1]
    bs.event("CALL_INCOMING")
    bs.accept()
    bs.event("CALL_ESTABLISHED")
    log = "\n".join(sipd_log(phone))
    expect(re.search(rf"TLS to {re.escape(LOOPBACK)}:{bs.tls_port}: \(TLS1\.[23]\)", log),
           "the INVITE did not go over TLS")
    baresip_call_checks(t, phone, bs, call, baresip_hangs_up=False)


@tap.case("/sip/tls/baresip/calls-phone-through-kamailio")
def _(t):
    """baresip (mediaenc=srtp-mand) calls the phone (SRTP compulsory,
    registered over TLS) through Kamailio's TLS: baresip 1.0.0's SIP stack
    (libre 1.1) sends no request to a sips: URI (ENOSYS), and the phone's
    Contact over TLS is sips:, so baresip needs a route set: Kamailio's
    Record-Route (sip:...;transport=tls). Every request over TLS."""
    kam = t.kamailio(users=USERS, invite_auth=False, tls={"cert": pki.good[0], "key": pki.good[1]})
    phone = media_phone(t, kam, "alice", pki.phone_a)
    bs = tls_baresip(t)
    bs.dial(f"sip:alice@{LOOPBACK}:{kam.tls_port};transport=tls")
    phone.wait("call/1", "State", "incoming", timeout=10)
    phone.ctl_ok("answer", "call/1")
    bs.event("CALL_ESTABLISHED")
    baresip_call_checks(t, phone, bs, "call/1", baresip_hangs_up=True)
    for method in ("INVITE", "ACK", "BYE"):
        seen = kamailio_requests(kam, method)
        expect(seen and all(p == "tls" for _, p in seen), f"{method}s reached Kamailio as {seen}")


tap.run()
