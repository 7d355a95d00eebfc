#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Plug-and-play provisioning (static.auto_provision.pnp_enable): at power-on
provd multicasts a SIP SUBSCRIBE (Event: ua-profile) to 224.0.1.75:5060 and
provisions from the URL that a PnP server's NOTIFY carries, before the
configured server.url (Yealink's order). Everything runs in a network
namespace of this test's own (unshare --net, so it vanishes with the test):
only its loopback, with multicast on and a 224.0.0.0/4 route, ever sees a
multicast datagram. Needs root (CI runs as root); skipped otherwise."""
import os
import re
import socket
import struct
import subprocess
import sys
import threading

NETNS_ENV = "DESKPHONE_TEST_PNP_NETNS"

if __name__ == "__main__" and os.environ.get(NETNS_ENV) != "1" and os.geteuid() == 0:
    # run again inside a new network namespace; it ends with this process
    env = dict(os.environ, **{NETNS_ENV: "1"})
    sys.exit(subprocess.call(["unshare", "--net", "--", sys.executable, os.path.abspath(__file__), *sys.argv[1:]],
                             env=env))

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from deskphone import Resource, Tap, TestFailure, expect  # noqa: E402
from provisioning import TEST_MAC, Answer, ScriptedHttp, provision_prop, provisioning_phone  # noqa: E402
from deskphone import cfg_text  # noqa: E402

PNP_GROUP = "224.0.1.75"
PNP_PORT = 5060

tap = Tap()


def setup_namespace():
    """Loopback up with multicast, and the multicast route on it; refuse to go
    on if this is not a namespace of our own (nothing but lo)."""
    if os.geteuid() != 0:
        tap.skip_all("needs root for a network namespace of its own")
    if os.environ.get(NETNS_ENV) != "1":
        tap.skip_all("not in the test's network namespace")
    # the variable alone proves nothing (it may come from outside): unshare execs us, so our
    # parent is the process that made the namespace, and must be in another one
    if os.readlink("/proc/self/ns/net") == os.readlink(f"/proc/{os.getppid()}/ns/net"):
        raise SystemExit("refusing to run: not in a network namespace of this test's own")
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    names = [line.split(":")[1].strip() for line in links.splitlines()]
    if names != ["lo"]:
        raise SystemExit(f"refusing to run: this network namespace has {names}, not only lo")
    for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "link", "set", "lo", "multicast", "on"],
                ["ip", "route", "add", "224.0.0.0/4", "dev", "lo"]):
        subprocess.run(cmd, check=True)


def sip_headers(text):
    """{lower-case name: [values]} of a SIP message's head, and its first line."""
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return head[0], headers


class PnpServer(Resource):
    """A PnP server on 224.0.1.75:5060 (joined on lo): answers a SUBSCRIBE 200,
    then sends NOTIFY with url (application/url) to its Contact. before: raw
    datagrams to send to the phone first (bad ones it must survive).
    subscribes: the SUBSCRIBEs seen (text); answers: the phone's responses."""

    def __init__(self, url, before=()):
        self.name = "pnp-server"
        self.url = url
        self.before = list(before)
        self.subscribes, self.answers = [], []
        self.lock = threading.Condition()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", PNP_PORT))
        mreq = struct.pack("4s4s", socket.inet_aton(PNP_GROUP), socket.inet_aton("127.0.0.1"))
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            text = data.decode("utf-8", "replace")
            with self.lock:
                if text.startswith("SUBSCRIBE "):
                    self.subscribes.append(text)
                    self._answer(text, peer)
                elif text.startswith("SIP/2.0 "):
                    self.answers.append(text)
                self.lock.notify_all()

    def _answer(self, text, peer):
        _, h = sip_headers(text)
        ok = ("SIP/2.0 200 OK\r\n" + "".join(f"Via: {v}\r\n" for v in h["via"]) +
              f"From: {h['from'][0]}\r\nTo: {h['to'][0]};tag=pnp1\r\nCall-ID: {h['call-id'][0]}\r\n"
              f"CSeq: {h['cseq'][0]}\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n")
        self.sock.sendto(ok.encode(), peer)
        contact = re.search(r"<sip:[^@>]+@([0-9.]+):([0-9]+)>", h["contact"][0])
        target = (contact.group(1), int(contact.group(2)))
        for raw in self.before:
            self.sock.sendto(raw.replace(b"CALLID", h["call-id"][0].encode()), target)
        body = self.url + "\r\n"
        notify = (f"NOTIFY sip:{TEST_MAC}@{target[0]}:{target[1]} SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP 127.0.0.1:{PNP_PORT};branch=z9hG4bKpnp{len(self.subscribes)}\r\n"
                  f"From: {h['to'][0]};tag=pnp1\r\nTo: {h['from'][0]}\r\nCall-ID: {h['call-id'][0]}\r\n"
                  "CSeq: 1 NOTIFY\r\nEvent: ua-profile\r\nSubscription-State: terminated;reason=timeout\r\n"
                  f"Content-Type: application/url\r\nContent-Length: {len(body)}\r\n\r\n{body}")
        self.sock.sendto(notify.encode(), target)

    def wait_answers(self, count, timeout=15):
        with self.lock:
            if not self.lock.wait_for(lambda: len(self.answers) >= count, timeout):
                raise TestFailure(f"the phone sent {len(self.answers)} answers, not {count}: {self.answers}")
            return list(self.answers)

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


def pnp_phone(t, extra=None):
    cfg = {"static.auto_provision.power_on": 1, "static.auto_provision.pnp_enable": 1,
           "deskphone.provision.pnp_interface": "lo"}
    cfg.update(extra or {})
    return provisioning_phone(t, cfg)


def served(t, label):
    http = t.add(ScriptedHttp(name=f"http {label}"))
    http.route("y000000000000.cfg", Answer(cfg_text({"account.1.label": label})))
    return http


@tap.case("/provision/pnp/subscribe-notify-provision")
def _(t):
    http = served(t, "FromPnP")
    static = served(t, "FromStatic")
    pnp = t.add(PnpServer(http.url))
    phone = pnp_phone(t, {"static.auto_provision.server.url": static.url})
    phone.wait("provision", "LastResult", "success")

    expect(len(pnp.subscribes) >= 1, "no SUBSCRIBE reached 224.0.1.75:5060")
    first, h = sip_headers(pnp.subscribes[0])
    expect(first == f"SUBSCRIBE sip:{TEST_MAC}@{PNP_GROUP} SIP/2.0", f"request line: {first!r}")
    expect(re.fullmatch(rf"<sip:{TEST_MAC}@224\.0\.1\.75>;tag=\w+", h["from"][0]), f"From: {h['from']}")
    expect(h["to"] == [f"<sip:{TEST_MAC}@{PNP_GROUP}>"], f"To: {h['to']}")
    event = h["event"][0]
    expect(event.startswith("ua-profile;") and 'profile-type="device"' in event, f"Event: {event!r}")
    for param in ("vendor", "model", "version"):
        expect(re.search(rf';{param}="[^"]+"', event), f"Event without {param}: {event!r}")
    expect(h["expires"] == ["0"], f"Expires: {h.get('expires')}")
    expect("application/url" in h["accept"][0], f"Accept: {h.get('accept')}")
    expect(h["cseq"] == ["1 SUBSCRIBE"] and h["via"][0].startswith("SIP/2.0/UDP 127.0.0.1:"), f"{h}")

    answers = pnp.wait_answers(1)
    expect(answers[0].startswith("SIP/2.0 200 "), f"the NOTIFY should be answered 200: {answers[0]!r}")
    _, ah = sip_headers(answers[0])
    expect(ah["cseq"] == ["1 NOTIFY"] and ah["call-id"] == h["call-id"], f"answer: {answers[0]!r}")
    # PnP's URL goes before server.url (Yealink's order)
    expect(provision_prop(phone, "Server") == http.url, f"Server: {provision_prop(phone, 'Server')}")
    expect("/y000000000000.cfg" in http.paths(), f"PnP server's files: {http.paths()}")
    expect(static.paths() == [], f"server.url must not be asked: {static.paths()}")
    expect(phone.get("account.1.label") == "FromPnP", "the provisioned value is not there")


@tap.case("/provision/pnp/hostile-datagrams-first")
def _(t):
    http = served(t, "FromPnP")
    junk = [b"\x00\xff garbage", b"NOTIFY sip:x@y SIP/2.0\r\n\r\n",
            b"NOTIFY sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n"
            b"To: <sip:c@d>\r\nCall-ID: not-ours\r\nCSeq: 1 NOTIFY\r\nEvent: ua-profile\r\n"
            b"Content-Type: application/url\r\nContent-Length: 22\r\n\r\nhttp://evil.invalid/\r\n",
            b"NOTIFY sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKy\r\nFrom: <sip:a@b>;tag=1\r\n"
            b"To: <sip:c@d>\r\nCall-ID: CALLID\r\nCSeq: 2 NOTIFY\r\nEvent: ua-profile\r\n"
            b"Content-Type: application/url\r\nContent-Length: 9999\r\n\r\nhttp://x/",
            # our Call-ID, seen by everyone on the LAN, but not our From tag as its To tag
            b"NOTIFY sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKz\r\nFrom: <sip:a@b>;tag=1\r\n"
            b"To: <sip:c@d>;tag=forged\r\nCall-ID: CALLID\r\nCSeq: 3 NOTIFY\r\nEvent: ua-profile\r\n"
            b"Content-Type: application/url\r\nContent-Length: 22\r\n\r\nhttp://evil.invalid/\r\n",
            b"NOTIFY sip:x@127.0.0.1 SIP/2.0\r\n" + b"X: " + b"a" * 5000 + b"\r\n\r\n"]
    pnp = t.add(PnpServer(http.url, before=junk))
    phone = pnp_phone(t)
    phone.wait("provision", "LastResult", "success")
    answers = pnp.wait_answers(3)
    expect(all(a.startswith("SIP/2.0 481 ") for a in answers[:2]),
           f"a NOTIFY of another dialog (Call-ID, To tag) must get 481: {answers}")
    expect(any(a.startswith("SIP/2.0 200 ") for a in answers), f"the good NOTIFY must get 200: {answers}")
    expect(provision_prop(phone, "Server") == http.url, "provisioned from the PnP server")


@tap.case("/provision/pnp/off-sends-nothing")
def _(t):
    # with PnP on, the power-on run waits for the discovery, which the server
    # would have seen (and answered) first
    static = served(t, "FromStatic")
    pnp = t.add(PnpServer(static.url + "pnp/"))
    phone = pnp_phone(t, {"static.auto_provision.pnp_enable": 0, "static.auto_provision.server.url": static.url})
    phone.wait("provision", "LastResult", "success")
    expect(provision_prop(phone, "Server") == static.url, f"Server: {provision_prop(phone, 'Server')}")
    with pnp.lock:
        expect(pnp.subscribes == [], f"pnp_enable = 0 must send no SUBSCRIBE: {pnp.subscribes}")


@tap.case("/provision/pnp/no-server-falls-back")
def _(t):
    static = served(t, "FromStatic")
    phone = pnp_phone(t, {"static.auto_provision.server.url": static.url})
    phone.wait("provision", "LastResult", "success", timeout=30)
    expect(provision_prop(phone, "Server") == static.url, "without a PnP answer, server.url is used")
    expect(phone.get("account.1.label") == "FromStatic", "the provisioned value is not there")


if __name__ == "__main__":
    if os.geteuid() != 0:
        tap.skip_all("needs root for a network namespace of its own")
    setup_namespace()
    tap.run()
