#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile SIP (issue 3): every RFC 4475 torture message, over UDP and TCP,
to a phone with a call in progress. sipd must not crash (no restart), must
not accept an invalid request (no 2xx, no call for it), and the call in
progress must survive, also against requests that borrow its Call-ID."""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import LOOPBACK, Skip, Tap, built, expect  # noqa: E402

tap = Tap()
tap.require("sipp")
CORPUS = os.path.join(os.environ.get("DESKPHONE_CORPUS") or
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "corpus"),
                      "sip", "rfc4475")
SIP1 = "org.deskphone.Sip1"


def manifest():
    path = os.path.join(CORPUS, "manifest.tsv")
    if not os.path.exists(path):
        raise Skip(f"no RFC 4475 corpus at {CORPUS}")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split("\t")
            if len(fields) >= 4 and fields[0].endswith(".sip"):
                out.append((fields[0], fields[1], fields[3]))
    return out


def strict(verdict, handling):
    """Invalid, and RFC 4475 leaves no room to accept it ("liberal: ...", "may ...")."""
    return verdict == "invalid" and not re.search(r"\bliberal\b|\bmay\b|ok to ignore", handling)


def phone_with_call(t):
    built("sipd")
    phone = t.phone(services=["provd", "sipd"], fake_media=True)
    phone.wait("sip", "ListenPort", phone.sip_port)
    uas = t.sipp("uas-answer-wait-bye").start()
    path = phone.ctl_ok("dial", uas.uri).strip()
    call = "call/" + path.rsplit("/", 1)[1]
    phone.wait(call, "State", "active")
    return phone, uas, call


def sipd_pid(phone):
    return phone.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                      "GetConnectionUnixProcessID", "s", SIP1)[0]


def responses(sock, wait=0.15):
    """Status codes of what came back on sock within wait seconds."""
    codes, deadline = [], time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return codes
        sock.settimeout(left)
        try:
            data = sock.recv(65535)
        except (socket.timeout, OSError):
            return codes
        if not data:
            return codes
        codes += [int(m) for m in re.findall(rb"^SIP/2\.0 (\d{3}) ", data, re.M)]


def send_udp(phone, data):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOOPBACK, 0))
        s.sendto(data, (LOOPBACK, phone.sip_port))
        return responses(s)
    finally:
        s.close()


def send_tcp(phone, data):
    s = socket.create_connection((LOOPBACK, phone.sip_port), timeout=2)
    try:
        s.sendall(data)
        return responses(s)
    except OSError:
        return []  # sipd closed the connection: fine for garbage
    finally:
        s.close()


def check_alive(phone, pid, call, what):
    expect(sipd_pid(phone) == pid, f"sipd restarted after {what}")
    state = phone.properties(call)["State"]
    expect(state == "active", f"the call in progress is {state} after {what}")


def torture(t, send, transport):
    corpus = manifest()
    phone, uas, call = phone_with_call(t)
    pid = sipd_pid(phone)
    calls_before = set(phone.objects("call/"))
    for name, verdict, handling in corpus:
        with open(os.path.join(CORPUS, name), "rb") as f:
            data = f.read()
        codes = send(phone, data)
        if strict(verdict, handling):
            expect(not any(200 <= c < 300 for c in codes), f"{name} ({transport}) was accepted: {codes}")
            new = set(phone.objects("call/")) - calls_before
            expect(not new, f"{name} ({transport}) made a call: {sorted(new)}")
        calls_before = set(phone.objects("call/"))
        check_alive(phone, pid, call, f"{name} over {transport}")
    for junk in (b"", b"\r\n\r\n", b"\x00" * 1500, os.urandom(4000), b"INVITE sip:x SIP/2.0\r\n" * 400):
        send(phone, junk)
    check_alive(phone, pid, call, f"junk over {transport}")
    phone.ctl_ok("hangup", call)
    phone.wait(call, "State", "ended")
    uas.expect_success()


@tap.case("/sip/torture/rfc4475-udp")
def _(t):
    torture(t, send_udp, "UDP")


@tap.case("/sip/torture/rfc4475-tcp")
def _(t):
    torture(t, send_tcp, "TCP")


@tap.case("/sip/torture/foreign-dialog")
def _(t):
    """Requests with the call's Call-ID but not its tags get 481 and change nothing."""
    phone, uas, call = phone_with_call(t)
    pid = sipd_pid(phone)
    call_id = re.search(r"^Call-ID:\s*(\S+)", uas.messages(), re.M | re.I)
    expect(call_id, "no Call-ID in SIPp's log")
    for method in ("BYE", "CANCEL", "INVITE", "UPDATE", "INFO"):
        msg = (f"{method} sip:{phone.name}@{LOOPBACK}:{phone.sip_port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {LOOPBACK}:9;branch=z9hG4bK-evil-{method};rport\r\n"
               f"From: <sip:mallory@{LOOPBACK}>;tag=evil\r\nTo: <sip:{phone.name}@{LOOPBACK}>;tag=evil2\r\n"
               f"Call-ID: {call_id.group(1)}\r\nCSeq: 99 {method}\r\nMax-Forwards: 70\r\n"
               "Content-Length: 0\r\n\r\n").encode()
        codes = send_udp(phone, msg)
        expect(not any(200 <= c < 300 for c in codes), f"{method} in a foreign dialog accepted: {codes}")
        check_alive(phone, pid, call, f"a foreign {method}")
    phone.ctl_ok("hangup", call)
    phone.wait(call, "State", "ended")
    uas.expect_success()


tap.run()
