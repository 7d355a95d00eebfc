#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""SIP over TLS through GnuTLS in place of sofia-sip's OpenSSL layer
(services/sipd/tls-gnutls.c, doc/sofia-tls-abi.md).

test-sofia-tls (a sofia program on that layer) registers to Kamailio with its
TLS module (OpenSSL) on 127.0.0.1, using a throwaway PKI made here with
certtool and a tiny DNS server for the names: a good certificate registers;
an unknown CA, a wrong host, an expired, a not yet valid, a self-signed, a
tampered or a revoked certificate are refused within a second, with the
reason sipd puts on LastError, and nothing reaches Kamailio. Mutual TLS, SNI,
wildcards, the policies, and the listening side (against OpenSSL's s_client
and against itself, with messages larger than a TLS record).

Every run also proves who did TLS: our counters, GnuTLS's description of the
session, and the SSL_* traps of test-sofia-tls, which count any call into
OpenSSL (they must stay at 0).
"""
import base64
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import (BUILD_ROOT, LOOPBACK, Skip, Tap, expect, free_port, port_in_use,  # noqa: E402
                       program, wait_until)

PROGRAM = os.environ.get("DESKPHONE_TEST_SOFIA_TLS") or os.path.join(BUILD_ROOT, "tests", "integration",
                                                                     "test-sofia-tls")
WRONG_ABI = os.environ.get("DESKPHONE_TEST_SOFIA_TLS_WRONG_ABI") or PROGRAM + "-wrong-abi"
FAIL_WITHIN_MS = 1000
USERS = {"alice": "secret"}
ZONE = ".example.test"

tap = Tap()
tap.require("certtool", "kamailio")
if not os.access(PROGRAM, os.X_OK):
    tap.skip_all(f"{PROGRAM} is not built")


# ---- a throwaway PKI ----

class Pki:
    """A CA, an unknown CA, and server certificates good and bad, made by certtool."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "pki")
        os.makedirs(self.dir, exist_ok=True)
        self.cadir = os.path.join(self.dir, "trusted")      # the phone's custom CA store
        os.makedirs(self.cadir, exist_ok=True)
        self.emptydir = os.path.join(self.dir, "empty")
        os.makedirs(self.emptydir, exist_ok=True)
        self.serial = 100
        self.ca = self._ca("ca", "deskphone test CA")
        self.other_ca = self._ca("other-ca", "Unknown CA")
        os.link(self.ca + ".pem", os.path.join(self.cadir, "ca.pem"))
        good = ['dns_name = "localhost"', 'dns_name = "sip.example.test"', 'ip_address = "127.0.0.1"']
        self.good = self.leaf("good", "localhost", good)
        self.dns_only = self.leaf("dns-only", "localhost", ['dns_name = "localhost"'])
        self.wrong_host = self.leaf("wrong-host", "other.example.test", ['dns_name = "other.example.test"'])
        self.wildcard = self.leaf("wildcard", "wildcard", ['dns_name = "*.example.test"'])
        self.sni = self.leaf("sni", "sni.example.test", ['dns_name = "sni.example.test"'])
        self.expired = self.leaf("expired", "localhost", good,
                                 dates=("2020-01-01 00:00:00", "2021-01-01 00:00:00"))
        self.not_yet = self.leaf("not-yet-valid", "localhost", good,
                                 dates=("2099-01-01 00:00:00", "2100-01-01 00:00:00"))
        self.unknown_ca = self.leaf("unknown-ca", "localhost", good, ca=self.other_ca)
        self.self_signed = self.leaf("self-signed", "localhost", good, ca=None)
        self.revoked = self.leaf("revoked", "localhost", good)
        self.bad_signature = self.tampered(self.good, "bad-signature")
        self.device = self.leaf("device", "phone-0015654c4c26",
                                ['dns_name = "localhost"', 'ip_address = "127.0.0.1"'], extra=["tls_www_client"])
        self._crl(self.revoked)

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
        tmpl = self._template(name, [f'cn = "{cn}"', "ca", "cert_signing_key", "crl_signing_key",
                                     "expiration_days = 30", f"serial = {self.serial}"])
        self._run("--generate-self-signed", "--load-privkey", key, "--template", tmpl,
                  "--outfile", os.path.join(self.dir, name + ".pem"))
        return os.path.join(self.dir, name)

    def leaf(self, name, cn, names, dates=None, ca="default", extra=()):
        """(cert, key) paths of a server certificate signed by ca (None: self-signed)."""
        ca = self.ca if ca == "default" else ca
        key = self._key(name)
        self.serial += 1
        lines = [f'cn = "{cn}"', *names, "tls_www_server", "signing_key", f"serial = {self.serial}", *extra]
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

    def tampered(self, leaf, name):
        """The same certificate with one bit of its signature flipped."""
        with open(leaf[0]) as f:
            b64 = "".join(line for line in f.read().splitlines() if not line.startswith("-----"))
        der = bytearray(base64.b64decode(b64))
        der[-2] ^= 0x01
        text = base64.encodebytes(bytes(der)).decode().replace("\n", "")
        cert = os.path.join(self.dir, name + ".pem")
        with open(cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\n")
            f.write("\n".join(text[i:i + 64] for i in range(0, len(text), 64)))
            f.write("\n-----END CERTIFICATE-----\n")
        return cert, leaf[1]

    def _crl(self, leaf):
        tmpl = self._template("crl", ["crl_next_update = 30", "crl_number = 1"])
        self._run("--generate-crl", "--load-ca-privkey", self.ca + ".key", "--load-ca-certificate",
                  self.ca + ".pem", "--load-certificate", leaf[0], "--template", tmpl,
                  "--outfile", os.path.join(self.cadir, "revoked.crl"))


# ---- names without a DNS server: a tiny one ----

class TinyDns(threading.Thread):
    """Answers A queries for localhost and *.example.test with 127.0.0.1, nothing else."""

    def __init__(self, workdir):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.resolv_conf = os.path.join(workdir, "resolv.conf")
        with open(self.resolv_conf, "w") as f:
            f.write(f"nameserver {LOOPBACK}\nport {self.port}\n")
        self.start()

    @staticmethod
    def _qname(data, off):
        labels = []
        while data[off]:
            n = data[off]
            labels.append(data[off + 1:off + 1 + n].decode("ascii", "replace"))
            off += 1 + n
        return ".".join(labels), off + 1

    def answer(self, data):
        ident, _flags, qd = struct.unpack("!HHH", data[:6])
        name, end = self._qname(data, 12)
        qtype, _qclass = struct.unpack("!HH", data[end:end + 4])
        question = data[12:end + 4]
        known = name.lower() == "localhost" or name.lower().endswith(ZONE)
        answers = b""
        if known and qtype == 1:
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(LOOPBACK)
        rcode = 0 if known else 3
        header = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, 1 if answers else 0, 0, 0)
        return header + question + answers

    def run(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(2048)
                self.sock.sendto(self.answer(data), peer)
            except OSError:
                return
            except (IndexError, struct.error, UnicodeError):
                continue


# ---- the program ----

class Run:
    """One test-sofia-tls process; its output is kept for the failure report."""

    def __init__(self, workdir, name):
        self.name = name
        os.makedirs(workdir, exist_ok=True)
        self.log = os.path.join(workdir, name + ".log")
        self.proc = None

    def logs(self):
        return [(self.name, self.log)]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def tls_args(ca_dir, ca_cert=1, trust=1, cn=1, client_cert=None, system_ca=None):
    args = ["--ca-dir", ca_dir, "--ca-cert", str(ca_cert), "--trust", str(trust), "--cn", str(cn),
            "--resolv-conf", dns.resolv_conf]
    if system_ca:
        args += ["--system-ca", system_ca]
    if client_cert:
        args += ["--dev-cert", client_cert[0], "--dev-key", client_cert[1], "--client-cert", "1"]
    return args


def parse(out):
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def client(t, mode, uri, *args, timeout_ms=20000, binary=PROGRAM):
    run = t.add(Run(t._dir("client"), f"test-sofia-tls-{mode}"))
    cmd = [binary, mode, "--uri", uri, "--user", "alice", "--password", USERS["alice"],
           "--timeout-ms", str(timeout_ms), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_ms / 1000 + 30)
    with open(run.log, "w") as f:
        f.write(f"$ {' '.join(cmd)}\nexit {p.returncode}\n{p.stdout}\n---- stderr\n{p.stderr}")
    res = parse(p.stdout)
    res["_stderr"] = p.stderr
    expect_gnutls_only(res)
    expect(p.returncode == 0, f"test-sofia-tls exited {p.returncode}")
    return res


def expect_gnutls_only(res):
    expect(res.get("openssl_calls") == "0", f"OpenSSL was called {res.get('openssl_calls')} times")
    expect(int(res.get("tls_init_master", "0")) >= 1, "sofia's TLS transport did not come through our layer")
    expect(res.get("sofia_has_tls", "").startswith("GnuTLS"), f"sofia_sip_has_tls is {res.get('sofia_has_tls')}")


def expect_ok(t, res, server_name=None, status="200"):
    expect(res["status"] == status, f"status {res['status']} {res.get('phrase')} ({res.get('tls_error', '')})")
    expect(res["via"] == "TLS", f"sent over {res['via']}")
    expect(int(res["tls_handshakes"]) >= 1, "no GnuTLS handshake")
    expect(res["session"].startswith("(TLS1.3)") or res["session"].startswith("(TLS1.2)"),
           f"GnuTLS session: {res['session']!r}")
    if server_name is not None:
        expect(res["server_name"] == server_name, f"SNI {res['server_name']!r}, expected {server_name!r}")
    t.tap._diag(f"{res['session']}: handshake {res['handshake_ms']} ms, answer after {res['elapsed_ms']} ms")


def expect_refused(t, res, reason, kam=None):
    expect(res["status"] == "503", f"status {res['status']} {res.get('phrase')}, expected 503")
    expect(res.get("tls_error") == reason, f"reason {res.get('tls_error')!r}, expected {reason!r}")
    expect(float(res["elapsed_ms"]) < FAIL_WITHIN_MS, f"refused after {res['elapsed_ms']} ms")
    expect(res["tls_handshakes"] == "0", "a handshake completed")
    if kam is not None:
        expect_nothing_received(kam)
    t.tap._diag(f"refused ({reason}) after {res['elapsed_ms']} ms")


def kamailio_log(kam):
    with open(kam.log_path, errors="replace") as f:
        return f.read()


def expect_registered_over_tls(kam):
    log = kamailio_log(kam)
    expect("REGISTER: saved" in log, "Kamailio saved no binding")
    expect("(tls:127.0.0.1:" in log, "Kamailio did not get the REGISTER over TLS")


def expect_nothing_received(kam):
    """Not over TLS, and not in the clear instead."""
    expect("REGISTER" not in kamailio_log(kam), "Kamailio received a REGISTER")


def tls_kamailio(t, cert, **kw):
    return t.kamailio(users=USERS, tls={"cert": cert[0], "key": cert[1], **kw})


dns = TinyDns(tap.dir)
pki = Pki(tap.dir)


# ---- registering ----

@tap.case("/sofia-tls/register/name")
def _(t):
    kam = tls_kamailio(t, pki.good)
    res = client(t, "register", f"sips:localhost:{kam.tls_port}", *tls_args(pki.cadir))
    expect_ok(t, res, server_name="localhost")
    expect_registered_over_tls(kam)
    # REGISTER, 401, REGISTER with credentials, 200: one connection, one handshake
    expect(res["tls_sessions"] == "1" and res["tls_handshakes"] == "1",
           f"{res['tls_sessions']} connections, {res['tls_handshakes']} handshakes")


@tap.case("/sofia-tls/register/ip-address")
def _(t):
    kam = tls_kamailio(t, pki.good)
    res = client(t, "register", f"sips:{LOOPBACK}:{kam.tls_port}", *tls_args(pki.cadir))
    expect_ok(t, res, server_name="")       # RFC 6066: no SNI for an address
    expect_registered_over_tls(kam)


@tap.case("/sofia-tls/register/tls1.2")
def _(t):
    kam = tls_kamailio(t, pki.good, method="TLSv1.2")
    res = client(t, "register", f"sips:localhost:{kam.tls_port}", *tls_args(pki.cadir))
    expect_ok(t, res)
    expect(res["session"].startswith("(TLS1.2)"), res["session"])


@tap.case("/sofia-tls/register/wildcard")
def _(t):
    kam = tls_kamailio(t, pki.wildcard)
    res = client(t, "register", f"sips:pbx.example.test:{kam.tls_port}", *tls_args(pki.cadir))
    expect_ok(t, res, server_name="pbx.example.test")
    # one label only
    res = client(t, "register", f"sips:a.pbx.example.test:{kam.tls_port}", *tls_args(pki.cadir))
    expect_refused(t, res, "name mismatch")


@tap.case("/sofia-tls/register/sni-picks-the-certificate")
def _(t):
    # Kamailio's default certificate is for another name; the right one only comes with SNI.
    kam = tls_kamailio(t, pki.wrong_host, sni=[("sni.example.test", *pki.sni)])
    res = client(t, "register", f"sips:sni.example.test:{kam.tls_port}", *tls_args(pki.cadir))
    expect_ok(t, res, server_name="sni.example.test")
    expect_registered_over_tls(kam)


# ---- refused, fast, with the reason ----

def refused_case(name, cert_attr, reason, uri_host="localhost", **tls_kw):
    @tap.case(f"/sofia-tls/refused/{name}")
    def _(t):
        kam = tls_kamailio(t, getattr(pki, cert_attr))
        res = client(t, "register", f"sips:{uri_host}:{kam.tls_port}", *tls_args(pki.cadir, **tls_kw))
        expect_refused(t, res, reason, kam)


refused_case("unknown-ca", "unknown_ca", "unknown CA")
refused_case("wrong-host", "wrong_host", "name mismatch")
refused_case("expired", "expired", "expired")
refused_case("not-yet-valid", "not_yet", "not yet valid")
refused_case("self-signed", "self_signed", "self-signed")
refused_case("bad-signature", "bad_signature", "bad signature")
refused_case("revoked", "revoked", "revoked")
refused_case("address-not-in-certificate", "dns_only", "name mismatch", uri_host=LOOPBACK)
refused_case("system-cas-only", "good", "unknown CA", ca_cert=0, system_ca="/dev/null")


@tap.case("/sofia-tls/refused/connection-refused")
def _(t):
    port = free_port()
    res = client(t, "register", f"sips:localhost:{port}", *tls_args(pki.cadir))
    expect_refused(t, res, "connection refused")


@tap.case("/sofia-tls/refused/handshake-timeout")
def _(t):
    # accepts the connection, never answers the ClientHello
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind((LOOPBACK, 0))
    silent.listen(4)
    try:
        res = client(t, "register", f"sips:localhost:{silent.getsockname()[1]}", *tls_args(pki.cadir))
    finally:
        silent.close()
    expect(res["status"] == "503", f"status {res['status']}")
    expect(res.get("tls_error") == "TLS handshake timed out", res.get("tls_error"))
    expect(9000 < float(res["elapsed_ms"]) < 12000, f"after {res['elapsed_ms']} ms")


# ---- policies ----

@tap.case("/sofia-tls/policy/ca-cert-both")
def _(t):
    kam = tls_kamailio(t, pki.good)
    res = client(t, "register", f"sips:localhost:{kam.tls_port}",
                 *tls_args(pki.cadir, ca_cert=2, system_ca=pki.other_ca + ".pem"))
    expect_ok(t, res)


@tap.case("/sofia-tls/policy/trust-all")
def _(t):
    kam = tls_kamailio(t, pki.unknown_ca)
    res = client(t, "register", f"sips:localhost:{kam.tls_port}", *tls_args(pki.cadir, trust=0))
    expect_ok(t, res)


@tap.case("/sofia-tls/policy/no-cn-validation")
def _(t):
    kam = tls_kamailio(t, pki.wrong_host)
    res = client(t, "register", f"sips:localhost:{kam.tls_port}", *tls_args(pki.cadir, cn=0))
    expect_ok(t, res)


# ---- mutual TLS ----

@tap.case("/sofia-tls/mutual/with-device-certificate")
def _(t):
    kam = tls_kamailio(t, pki.good, ca=pki.ca + ".pem", require_client_cert=True)
    res = client(t, "register", f"sips:localhost:{kam.tls_port}", *tls_args(pki.cadir, client_cert=pki.device))
    expect_ok(t, res)
    expect_registered_over_tls(kam)


@tap.case("/sofia-tls/mutual/without-device-certificate")
def _(t):
    kam = tls_kamailio(t, pki.good, ca=pki.ca + ".pem", require_client_cert=True)
    res = client(t, "register", f"sips:localhost:{kam.tls_port}", *tls_args(pki.cadir))
    expect(res["status"] == "503", f"status {res['status']}")
    expect(float(res["elapsed_ms"]) < FAIL_WITHIN_MS, f"after {res['elapsed_ms']} ms")
    expect(res.get("tls_error", "").startswith("refused by the server"), res.get("tls_error"))
    expect_nothing_received(kam)
    t.tap._diag(f"{res.get('tls_error')} after {res['elapsed_ms']} ms")


@tap.case("/sofia-tls/mutual/tls1.2-without-device-certificate")
def _(t):
    kam = tls_kamailio(t, pki.good, ca=pki.ca + ".pem", require_client_cert=True, method="TLSv1.2")
    res = client(t, "register", f"sips:localhost:{kam.tls_port}", *tls_args(pki.cadir))
    expect(res["status"] == "503", f"status {res['status']}")
    expect(res.get("tls_error", "").startswith("refused by the server"), res.get("tls_error"))
    expect(float(res["elapsed_ms"]) < FAIL_WITHIN_MS, f"after {res['elapsed_ms']} ms")


# ---- another libsofia-sip-ua ----

@tap.case("/sofia-tls/abi/mismatch-refuses-tls-loudly")
def _(t):
    if not os.access(WRONG_ABI, os.X_OK):
        raise Skip(f"{WRONG_ABI} is not built")
    kam = tls_kamailio(t, pki.good)
    res = client(t, "register", f"sips:localhost:{kam.tls_port}", *tls_args(pki.cadir), binary=WRONG_ABI)
    expect(res.get("abi") == "unsupported", "sip_tls_configure() accepted a library it was not built for")
    expect("internals differ" in res["_stderr"], "no error logged")
    expect(res["status"] == "503", f"status {res['status']}")
    expect(float(res["elapsed_ms"]) < FAIL_WITHIN_MS, f"after {res['elapsed_ms']} ms")
    expect(res["tls_sessions"] == "0", "a TLS connection was made")
    expect_nothing_received(kam)
    # UDP and TCP are not taken down with TLS
    res = client(t, "register", f"sip:localhost:{kam.port}", "--resolv-conf", dns.resolv_conf, binary=WRONG_ABI)
    expect(res["status"] == "200", f"UDP: status {res['status']}")


# ---- the listening side ----

class Server(Run):
    def __init__(self, workdir, cert, port):
        super().__init__(workdir, "test-sofia-tls-serve")
        self.port = port
        self.out = os.path.join(workdir, "serve.out")
        cmd = [PROGRAM, "serve", "--listen", f"sips:{LOOPBACK}:{port}",
               "--dev-cert", cert[0], "--dev-key", cert[1]]
        with open(self.log, "w") as err, open(self.out, "w") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        wait_until(lambda: port_in_use(port, tcp=True), 10, "test-sofia-tls to listen", proc=self.proc)

    def finish(self):
        self.proc.terminate()
        rc = self.proc.wait(timeout=10)
        expect(rc == 0, f"test-sofia-tls serve exited {rc}")
        with open(self.out) as f:
            res = parse(f.read())
        expect_gnutls_only(res)
        return res

    def logs(self):
        return [(self.name, self.log), (self.name + " stdout", self.out)]


def options(port, host="localhost"):
    return (f"OPTIONS sips:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS {LOOPBACK}:1;branch=z9hG4bK-openssl-{time.monotonic_ns()}\r\n"
            f"From: <sips:probe@{LOOPBACK}>;tag=probe\r\nTo: <sips:{host}:{port}>\r\n"
            f"Call-ID: openssl-{time.monotonic_ns()}@{LOOPBACK}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n")


@tap.case("/sofia-tls/server/openssl-client")
def _(t):
    openssl = program("openssl")
    srv = t.add(Server(t._dir("serve"), pki.device, free_port()))
    p = subprocess.Popen([openssl, "s_client", "-connect", f"{LOOPBACK}:{srv.port}", "-servername", "localhost",
                          "-CAfile", pki.ca + ".pem", "-verify_return_error", "-verify_hostname", "localhost",
                          "-quiet", "-ign_eof"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(options(srv.port).encode())
        p.stdin.flush()
        line = p.stdout.readline().decode(errors="replace")
    finally:
        p.kill()
        _, err = p.communicate(timeout=10)
    expect(line.startswith("SIP/2.0 200"), f"answer {line!r}; openssl: {err.decode(errors='replace')}")
    res = srv.finish()
    expect(res["tls_handshakes"] == "1", f"{res['tls_handshakes']} handshakes on the listening side")
    t.tap._diag(f"server side: {res['session']}, handshake {res['handshake_ms']} ms")


@tap.case("/sofia-tls/server/ourselves-with-large-messages")
def _(t):
    srv = t.add(Server(t._dir("serve"), pki.device, free_port()))
    # 100 kB: several TLS records each way (GnuTLS writes one 16 kB record per call)
    res = client(t, "request", f"sips:localhost:{srv.port}", "--body-size", "100000", *tls_args(pki.cadir))
    expect_ok(t, res, server_name="localhost")
    served = srv.finish()
    expect(served["tls_handshakes"] == "1", f"{served['tls_handshakes']} handshakes on the listening side")


class SlowReader(threading.Thread):
    """A TLS server (Python's ssl, OpenSSL) with a tiny receive window that
    waits before reading: the client's writes find the socket full and must
    resume where they stopped. It checks the body byte for byte and answers 200."""

    def __init__(self, cert, delay=1.0):
        super().__init__(daemon=True)
        import ssl
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert[0], cert[1])
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.delay = delay
        self.error = None
        self.body_ok = False
        self.start()

    def _read_message(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, body = data.split(b"\r\n\r\n", 1)
        headers = head.decode().split("\r\n")
        length = next(int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length:"))
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                raise OSError("connection closed in the body")
            body += chunk
        return headers, body

    def run(self):
        try:
            raw, _ = self.sock.accept()
            with self.ctx.wrap_socket(raw, server_side=True) as conn:
                time.sleep(self.delay)
                headers, body = self._read_message(conn)
                self.body_ok = body == bytes(ord("a") + i % 26 for i in range(len(body)))
                keep = [h for h in headers[1:] if h.split(":")[0].lower() in ("via", "from", "call-id", "cseq")]
                to = next(h for h in headers if h.lower().startswith("to:"))
                reply = "\r\n".join(["SIP/2.0 200 OK", *keep, to + ";tag=slow", "Content-Length: 0", "", ""])
                conn.sendall(reply.encode())
                time.sleep(0.5)
        except Exception as e:  # reported by the case
            self.error = repr(e)


@tap.case("/sofia-tls/write/resumes-when-the-socket-was-full")
def _(t):
    srv = SlowReader(pki.good)
    res = client(t, "request", f"sips:localhost:{srv.port}", "--body-size", "6000000", *tls_args(pki.cadir))
    srv.join(timeout=10)
    expect(srv.error is None, f"server: {srv.error}")
    expect(srv.body_ok, "the server got a different body")
    expect_ok(t, res)
    expect(int(res["tls_write_blocked"]) > 0, "the writes never found the socket full")
    t.tap._diag(f"6 MB MESSAGE: the socket was full {res['tls_write_blocked']} times; answered after "
                f"{res['elapsed_ms']} ms")


@tap.case("/sofia-tls/server/no-device-certificate")
def _(t):
    # without a certificate the listening side refuses connections (and the client says why)
    run = t.add(Run(t._dir("serve"), "test-sofia-tls-serve"))
    port = free_port()
    with open(run.log, "w") as err:
        run.proc = subprocess.Popen([PROGRAM, "serve", "--listen", f"sips:{LOOPBACK}:{port}"],
                                    stdout=subprocess.DEVNULL, stderr=err)
    wait_until(lambda: port_in_use(port, tcp=True), 10, "test-sofia-tls to listen", proc=run.proc)
    res = client(t, "request", f"sips:localhost:{port}", *tls_args(pki.cadir))
    expect(res["status"] == "503", f"status {res['status']}")
    expect(float(res["elapsed_ms"]) < FAIL_WITHIN_MS, f"after {res['elapsed_ms']} ms")


tap.run()
