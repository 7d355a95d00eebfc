#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Provisioning from ftp:// and tftp:// URLs (libcurl does both): FTP with a
login (python3-pyftpdlib), TFTP from a small RFC 1350 server in this file
on a free port; a missing file, a wrong password and a server that is not
there fail with a clear reason and leave the configuration byte for byte as
it was; <mac>-local.cfg goes to an FTP server with custom.sync."""
import os
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from deskphone import LOOPBACK, Resource, Tap, cfg_text, expect, wait_until  # noqa: E402
from provisioning import (TEST_MAC, FtpServer, effective, provision, provision_fails,  # noqa: E402
                          provision_prop, provisioning_phone)

tap = Tap()

RRQ, DATA, ACK, ERROR = 1, 3, 4, 5
BLOCK = 512


class TftpServer(Resource):
    """RFC 1350, read requests only, octet and netascii served as they are,
    options (RFC 2347) ignored: the file in blocks of 512 from a new port,
    each sent again until acknowledged; error 1 for a missing file."""

    def __init__(self, files=None, name="tftp"):
        self.name = name
        self.files = dict(files or {})
        self.requests = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self):
        return f"tftp://{LOOPBACK}:{self.port}/"

    def _serve(self):
        while not self.stopping.is_set():
            try:
                packet, peer = self.sock.recvfrom(1024)
            except socket.timeout:
                continue
            except OSError:
                break
            if len(packet) > 2 and struct.unpack("!H", packet[:2])[0] == RRQ:
                name = packet[2:].split(b"\0")[0].decode(errors="replace").lstrip("/")
                self.requests.append(name)
                threading.Thread(target=self._send, args=(name, peer), daemon=True).start()

    def _send(self, name, peer):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # the transfer's own port (TID)
            s.bind((LOOPBACK, 0))
            s.settimeout(0.5)
            data = self.files.get(name)
            if data is None:
                s.sendto(struct.pack("!HH", ERROR, 1) + b"File not found\0", peer)
                return
            for block in range(1, len(data) // BLOCK + 2):
                packet = struct.pack("!HH", DATA, block & 0xffff) + data[(block - 1) * BLOCK:block * BLOCK]
                for _ in range(10):
                    s.sendto(packet, peer)
                    try:
                        ack, _ = s.recvfrom(1024)
                    except socket.timeout:
                        continue
                    if ack[:4] == struct.pack("!HH", ACK, block & 0xffff):
                        break
                else:
                    return

    def stop(self):
        self.stopping.set()
        self.sock.close()


def ftp(t, **kw):
    return t.add(FtpServer(t._dir("ftp"), **kw))


COMMON = cfg_text({"account.1.label": "Common", "account.1.user_name": "common", "voice.jib.max": 250})
# larger than one TFTP block: the transfer takes several
MAC = cfg_text({"account.1.user_name": "alice", **{f"account.{n}.label": "x" * 40 for n in range(2, 16)}})


@tap.case("/provision/ftp/login")
def _(t):
    srv = ftp(t, users={"prov": "ftp-pw"})
    srv.put("y000000000000.cfg", COMMON)
    srv.put(f"{TEST_MAC}.cfg", MAC)
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url,
                                   "static.auto_provision.server.username": "prov",
                                   "static.auto_provision.server.password": "ftp-pw"})
    rc, out, _ = provision(phone)
    expect("Result: success" in out, out)
    expect(phone.get("account.1.label") == "Common" and phone.get("account.1.user_name") == "alice",
           "both files applied")
    expect(phone.get("account.15.label") == "x" * 40, "the MAC file entirely")
    files = provision_prop(phone, "Files")
    expect([f[1] for f in files] == ["missing", "missing", "downloaded", "downloaded"], f"Files: {files}")
    expect(files[0][2] == "not found" and "HTTP" not in files[2][2], f"FTP is not HTTP: {files}")
    expect(all("ftp-pw" not in f[0] for f in files), "no password in Files")
    rc, out, _ = provision(phone)
    expect("Result: unchanged" in out, out)


@tap.case("/provision/ftp/wrong-password")
def _(t):
    srv = ftp(t, users={"prov": "ftp-pw"})
    srv.put("y000000000000.cfg", COMMON)
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url,
                                   "static.auto_provision.server.username": "prov",
                                   "static.auto_provision.server.password": "wrong"})
    provision_fails(phone, contains=["login denied"])


@tap.case("/provision/ftp/missing-file")
def _(t):
    srv = ftp(t)  # anonymous
    os.makedirs(os.path.join(srv.www, "phones"))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url + "phones/"})
    provision_fails(phone, contains=["no configuration files", "not found", "y000000000000.cfg",
                                     f"{TEST_MAC}.cfg"])
    # a directory that is not there: the server's reason
    last_error = provision_fails(phone, "--url", f"{srv.url}nowhere/", contains=[f"nowhere/{TEST_MAC}.boot"])
    expect("directory" in last_error, last_error)


@tap.case("/provision/ftp/sync-uploads-local-file")
def _(t):
    srv = ftp(t, users={"prov": "ftp-pw"})
    srv.put("y000000000000.cfg", COMMON)
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url,
                                   "static.auto_provision.server.username": "prov",
                                   "static.auto_provision.server.password": "ftp-pw",
                                   "static.auto_provision.custom.protect": 1,
                                   "static.auto_provision.custom.sync": 1})
    provision(phone)
    phone.set({"account.1.label": "Mine"})
    local = os.path.join(srv.www, f"{TEST_MAC}-local.cfg")
    wait_until(lambda: os.path.exists(local) and b"Mine" in srv.read(f"{TEST_MAC}-local.cfg"), 15,
               "the local file on the FTP server")
    expect(srv.read(f"{TEST_MAC}-local.cfg").startswith(b"#!version:1.0.0.1\naccount.1.label = Mine"),
           srv.read(f"{TEST_MAC}-local.cfg"))
    # and the next run reads it back: nothing changes
    rc, out, _ = provision(phone)
    expect("Result: unchanged" in out, out)


@tap.case("/provision/tftp/files")
def _(t):
    srv = t.add(TftpServer({"y000000000000.cfg": COMMON.encode(), f"{TEST_MAC}.cfg": MAC.encode()}))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url})
    rc, out, _ = provision(phone)
    expect("Result: success" in out, out)
    expect(phone.get("account.1.user_name") == "alice" and phone.get("voice.jib.max") == "250", "applied")
    expect(phone.get("account.15.label") == "x" * 40, "every block of the MAC file")
    expect(srv.requests == [f"{TEST_MAC}.boot", "y000000000000.boot", "y000000000000.cfg", f"{TEST_MAC}.cfg"],
           f"Yealink's order over TFTP: {srv.requests}")
    # no conditional requests over TFTP: the files come again, and the same files change nothing
    before = effective(phone)
    rc, out, _ = provision(phone)
    expect("Result: unchanged" in out, out)
    expect(len(srv.requests) == 8, f"requests: {srv.requests}")
    expect(effective(phone) == before, "an unchanged run must not rewrite the configuration")
    # a changed file is applied
    srv.files["y000000000000.cfg"] = cfg_text({"account.1.label": "Changed"}).encode()
    rc, out, _ = provision(phone)
    expect("Result: success" in out and phone.get("account.1.label") == "Changed", out)


@tap.case("/provision/tftp/missing-file")
def _(t):
    srv = t.add(TftpServer())
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url})
    provision_fails(phone, contains=["no configuration files", "not found", "y000000000000.cfg"])
    files = provision_prop(phone, "Files")
    expect(all(f[1] == "missing" and f[2] == "not found" for f in files), f"Files: {files}")


@tap.case("/provision/tftp/no-server")
def _(t):
    srv = t.add(TftpServer({"y000000000000.cfg": COMMON.encode()}))
    url = srv.url
    srv.stop()  # nothing answers on that port any more
    phone = provisioning_phone(t, {"static.auto_provision.server.url": url,
                                   "deskphone.provision.stall_seconds": 2})
    last_error = provision_fails(phone, contains=[f"{TEST_MAC}.boot"])
    expect("tftp://" in last_error, last_error)


tap.run()
