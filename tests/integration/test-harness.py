#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The integration harness itself, without sipd: phones side by side,
the generated Kamailio configuration (digest auth, restart on the same
ports, routing a call to a registered contact), every SIPp scenario against
its counterpart, and fake-media1 on a phone's bus."""
import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import LOOPBACK, Tap, expect, port_in_use  # noqa: E402

tap = Tap()
USERS = {"alice": "alice-Secret1", "bob": "bob-Secret2"}


# ---- phones ----

@tap.case("/harness/phones/side-by-side")
def _(t):
    a = t.phone(services=["provd"], name="a")
    b = t.phone(services=["provd"], name="b")
    expect(a.bus != b.bus, "both phones on one bus")
    expect(a.sip_port != b.sip_port, "both phones got one SIP port")
    for p in (a, b):
        status = p.status()
        expect(status["services"]["org.deskphone.Config1"]["running"] is True, f"{p.name}: provd not running")
        expect(p.get("sip.listen_port") == str(p.sip_port), f"{p.name}: sip.listen_port from the generated cfg")
    a.set({"account.1.label": "Only on A", "account.1.user_name": "alice"})
    expect(a.get("account.1.label") == "Only on A", "A did not take the change")
    expect(b.get("account.1.label") == "", f"B changed with A: {b.get('account.1.label')!r}")
    expect(b.get("account.1.user_name") == "", "B changed with A")
    b.set({"account.1.label": "Only on B"})
    expect(a.get("account.1.label") == "Only on A", "A changed with B")


@tap.case("/harness/phones/wait-on-signals")
def _(t):
    """phonectl wait returns on the change, and times out with status 5."""
    p = t.phone(services=["provd"], fake_media=True)
    path, _ = p.fake.create_stream()
    obj = "stream/" + path.rsplit("/", 1)[1]
    p.wait(obj, "State", "created", timeout=5)
    rc, out, err = p.ctl("--timeout", "0.3", "wait", obj, "State", "running")
    expect(rc == 5, f"phonectl wait for a state that never comes: exit {rc}, expected 5 ({err.strip()})")
    p.fake.call("Start", "a{sv}", "3", "address", "s", LOOPBACK, "port", "q", "4000", "codec", "s", "PCMU",
                path=path, iface=p.fake.STREAM_IFACE)
    p.wait(obj, "State", "running", timeout=5)


# ---- Kamailio ----

def register(t, kam, user, password, transport="udp", refused=False, port=None):
    sipp = t.sipp("uac-register-refused" if refused else "uac-register", remote=f"{LOOPBACK}:{kam.port}",
                  transport=transport, service=user, auth=(user, password), port=port, timeout=10)
    sipp.start().expect_success()
    return sipp


@tap.case("/harness/kamailio/register/udp")
def _(t):
    kam = t.kamailio(users=USERS)
    sipp = register(t, kam, "alice", USERS["alice"])
    contacts = kam.contacts("alice")
    expect(any(f":{sipp.port}" in c for c in contacts), f"alice's contacts: {contacts}")
    expect(kam.contacts("bob") == [], "bob registered by nobody")


@tap.case("/harness/kamailio/register/tcp")
def _(t):
    kam = t.kamailio(users=USERS)
    register(t, kam, "bob", USERS["bob"], transport="tcp")
    contacts = kam.contacts("bob")
    expect(any("transport=tcp" in c.lower() for c in contacts), f"bob's contacts: {contacts}")


@tap.case("/harness/kamailio/register/wrong-password")
def _(t):
    kam = t.kamailio(users=USERS)
    register(t, kam, "alice", "not-the-password", refused=True)
    register(t, kam, "mallory", "anything", refused=True)
    expect(kam.contacts("alice") == [], "alice registered with a wrong password")


@tap.case("/harness/kamailio/register/wrong-password-401")
def _(t):
    kam = t.kamailio(users=USERS, refuse_with=401)
    t.sipp("uac-register-rechallenged", remote=f"{LOOPBACK}:{kam.port}", service="alice",
           auth=("alice", "not-the-password"), timeout=10).start().expect_success()
    expect(kam.contacts("alice") == [], "alice registered with a wrong password")


@tap.case("/harness/kamailio/short-registrations")
def _(t):
    """max_expires caps what a registrar grants."""
    kam = t.kamailio(users=USERS, max_expires=10)
    sipp = register(t, kam, "alice", USERS["alice"])
    expect(";expires=10" in sipp.messages(), "Kamailio granted more than max_expires")


@tap.case("/harness/kamailio/restart-same-port")
def _(t):
    kam = t.kamailio(users=USERS)
    port = kam.port
    register(t, kam, "alice", USERS["alice"])
    kam.stop()
    expect(not port_in_use(port), "kamailio still holds its UDP port after stop")
    kam.start()
    expect(kam.port == port, "kamailio moved")
    expect(kam.contacts("alice") == [], "contacts survived a restart (usrloc should be in memory)")
    register(t, kam, "alice", USERS["alice"], transport="tcp")
    expect(kam.contacts("alice") != [], "alice did not register after the restart")


@tap.case("/harness/kamailio/invite-challenged")
def _(t):
    """An INVITE without credentials gets 407 (WITH_INVITE_AUTH)."""
    kam = t.kamailio(users=USERS)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOOPBACK, 0))
        s.settimeout(5)
        lport = s.getsockname()[1]
        s.sendto((f"INVITE sip:bob@{LOOPBACK}:{kam.port} SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP {LOOPBACK}:{lport};branch=z9hG4bK-harness-{time.monotonic_ns()}\r\n"
                  f"From: <sip:alice@{LOOPBACK}>;tag=1\r\nTo: <sip:bob@{LOOPBACK}>\r\n"
                  f"Call-ID: harness-{time.monotonic_ns()}\r\nCSeq: 1 INVITE\r\n"
                  f"Contact: <sip:alice@{LOOPBACK}:{lport}>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
                 .encode(), (LOOPBACK, kam.port))
        reply = s.recv(4096).decode(errors="replace")
    finally:
        s.close()
    expect(reply.startswith("SIP/2.0 407"), f"expected 407, got: {reply.splitlines()[0] if reply else ''}")
    expect("Proxy-Authenticate: Digest" in reply, reply)


@tap.case("/harness/kamailio/route-call")
def _(t):
    """A call to a registered contact goes through Kamailio and back (BYE
    over the record-route)."""
    kam = t.kamailio(users=USERS, invite_auth=False)
    reg = register(t, kam, "bob", USERS["bob"])
    uas = t.sipp("uas-answer-wait-bye", port=reg.port, timeout=20).start()
    uac = t.sipp("uac-call-send-bye", remote=f"{LOOPBACK}:{kam.port}", service="bob", pause_ms=200, timeout=20)
    uac.start().expect_success()
    uas.expect_success()
    expect("Record-Route:" in uas.messages(), "Kamailio did not record-route the INVITE")


# ---- SIPp scenarios against each other ----

PAIRS = [
    ("uac-call-wait-bye", "uas-answer-send-bye"),
    ("uac-call-send-bye", "uas-answer-wait-bye"),
    ("uac-cancel", "uas-ring-cancel"),
    ("uac-call-busy", "uas-busy"),
]


def sipp_pair(uac_name, uas_name, transport):
    def run(t):
        uas = t.sipp(uas_name, transport=transport, pause_ms=200, timeout=15).start()
        uac = t.sipp(uac_name, remote=f"{LOOPBACK}:{uas.port}", transport=transport, service="bob",
                     pause_ms=200, timeout=15)
        uac.start().expect_success()
        uas.expect_success()
        if uac_name == "uac-cancel":
            # the CANCEL and the ACK of the 487 use the INVITE's branch
            msgs = uac.messages()
            branches = {line.split("branch=")[1].split(";")[0] for line in msgs.splitlines()
                        if line.startswith("Via:") and "branch=" in line}
            expect(len(branches) == 1, f"CANCEL/ACK branches differ from the INVITE's: {branches}")
    return run


for transport in ("udp", "tcp"):
    for uac_name, uas_name in PAIRS:
        tap.case(f"/harness/sipp/{transport}/{uac_name}")(sipp_pair(uac_name, uas_name, transport))


# ---- fake-media1 ----

@tap.case("/harness/fake-media1/create-stream")
def _(t):
    p = t.phone(services=["provd"], fake_media=True)
    # as the brief's busctl line does it: no options at all
    rc, out, err = p.busctl("call", "org.deskphone.Media1", "/org/deskphone/Media1", "org.deskphone.Media1",
                            "CreateStream", "a{sv}", "0")
    expect(rc == 0 and out.startswith('oa{sv} "/org/deskphone/Media1/stream/'), f"busctl: {rc} {out} {err}")
    path, local = p.fake.create_stream(codecs=("as", ["G722", "PCMA"]), ptime=("u", 30))
    expect(local["address"] == LOOPBACK, f"local address {local['address']}")
    port = local["port"]
    expect(port % 2 == 0, f"RTP port {port} is odd")
    expect(port_in_use(port) and port_in_use(port + 1), f"ports {port}/{port + 1} are not bound")
    names = [c[0] for c in local["codecs"]]
    expect(names == ["G722", "PCMA", "telephone-event"], f"codecs {local['codecs']}")
    expect(local["codecs"][0][1] == 9 and local["codecs"][2][1] == 101, f"payload types {local['codecs']}")
    expect(local["ptime"] == 30 and local["crypto"] == [], f"local {local}")
    expect(p.fake.stream_prop(path, "LocalPort") == port, "LocalPort")
    obj = "stream/" + path.rsplit("/", 1)[1]

    start = ["4", "address", "s", LOOPBACK, "port", "q", "40000", "codec", "s", "PCMA", "payload_type", "u", "8"]
    p.fake.call("Start", "a{sv}", *start, path=path, iface=p.fake.STREAM_IFACE)
    p.wait(obj, "State", "running", timeout=5)
    expect(p.fake.stream_prop(path, "Codec") == "PCMA", "Codec")
    expect(p.fake.stream_prop(path, "RemotePort") == 40000, "RemotePort")
    p.fake.call("Hold", "s", "sendonly", path=path, iface=p.fake.STREAM_IFACE)
    p.wait(obj, "State", "held", timeout=5)
    p.fake.call("Update", "a{sv}", "1", "direction", "s", "sendrecv", path=path, iface=p.fake.STREAM_IFACE)
    p.wait(obj, "State", "running", timeout=5)
    p.fake.call("SendDtmf", "s", "12#", path=path, iface=p.fake.STREAM_IFACE)
    # a type the contract does not allow is refused, naming the parameter
    rc, out, err = p.busctl("call", "org.deskphone.Media1", path, p.fake.STREAM_IFACE, "Update", "a{sv}", "1",
                            "port", "u", "4000")
    expect(rc != 0 and "'port'" in err, f"Update with port as u: {rc} {err}")
    p.fake.call("Stop", path=path, iface=p.fake.STREAM_IFACE)
    expect(not port_in_use(port), "Stop did not release the RTP port")

    log = p.fake.log()
    expect(log[0] == "CreateStream", f"log {log}")
    expect("CreateStream codecs=G722,PCMA ptime=30" in log, f"log {log}")
    expect(f"Start {obj} address={LOOPBACK} port=40000 codec=PCMA payload_type=8" in log, f"log {log}")
    expect(f"Hold {obj} sendonly" in log and f"SendDtmf {obj} 12#" in log and f"Stop {obj}" in log, f"log {log}")
    p.fake.clear_log()
    expect(p.fake.log() == [], "FakeClearLog")


@tap.case("/harness/fake-media1/faults")
def _(t):
    p = t.phone(services=["provd"], fake_media=True)
    p.fake.set_fault("create-fails")
    rc, out, err = p.busctl("call", "org.deskphone.Media1", "/org/deskphone/Media1", "org.deskphone.Media1",
                            "CreateStream", "a{sv}", "0")
    expect(rc != 0 and "create-fails" in err, f"create-fails: {rc} {out} {err}")
    p.fake.set_fault("none")
    p.fake.set_fault("slow-create", 400)
    began = time.monotonic()
    p.fake.create_stream()
    took = time.monotonic() - began
    expect(took >= 0.4, f"slow-create=400 answered after {took:.3f} s")
    p.fake.set_fault("slow-create", 0)


@tap.case("/harness/fake-media1/faults-from-env")
def _(t):
    p = t.phone(services=["provd"])
    fake = p.start_fake_media(faults={"create-fails": 1})
    rc, _, err = p.busctl("call", "org.deskphone.Media1", "/org/deskphone/Media1", "org.deskphone.Media1",
                          "CreateStream", "a{sv}", "0")
    expect(rc != 0 and "create-fails" in err, f"FAKE_MEDIA1_FAULTS ignored: {rc} {err}")
    fake.stop()


tap.run()
