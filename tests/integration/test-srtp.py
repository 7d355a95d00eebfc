#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""SRTP end to end (issue 5): two phones with the real sipd and mediad, with
account.1.srtp_encryption set as each case says, call each other through a
relay written here that sits in both the SIP and the media path (a stateless
SIP proxy that points each side's SDP at its own UDP ports, and forwards RTP
and RTCP). Like test-media-audio.py, each phone captures a 1 kHz tone from a
WAV file and plays into another, and what was played must be the other side's
tone. The relay is the capture: no RTP payload of an SRTP call may be one of
the clear payloads the same tone gives in a call without SRTP. Then the relay
flips one bit in each packet (the phone drops and counts them all) and
replays old packets, then sends each packet twice as a duplicating network
would (the copies are dropped and counted as replays too). Also: compulsory against off
(488), optional against off (clear both ways), optional with optional (SRTP),
SIPp offering only RTP/AVP to a compulsory phone (488 with the reason), two
compulsory phones through Kamailio (packets seen with tshark on lo when it can
capture), hold and resume with new keys, and no key in any debug log."""
import hashlib
import math
import os
import re
import select
import socket
import struct
import sys
import threading
import time
import wave

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import LOOPBACK, Skip, Tap, built, expect, free_port, free_port_pair, wait_until  # noqa: E402
from capture import Capture, payloads, periodic_share  # noqa: E402

tap = Tap()
SERVICES = ["provd", "sipd", "mediad"]
RATE = 16000
TONE_HZ = 1000.0
TONE_DBFS = -10.0
USERS = {"alice": "alice-Secret1", "bob": "bob-Secret2"}
MODES = {"off": 0, "optional": 1, "compulsory": 2}


# ---- audio (as test-media-audio.py) ----

def write_tone(path, seconds=2):
    amp = 10 ** (TONE_DBFS / 20) * 32767
    n = int(RATE * seconds)
    frames = b"".join(struct.pack("<h", int(round(amp * math.sin(2 * math.pi * TONE_HZ * i / RATE))))
                      for i in range(n))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames)


def goertzel_rms(x, hz):
    w = 2 * math.pi * hz / RATE
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + c * s1 - s2, s1
    return math.sqrt(2 * max(s1 * s1 + s2 * s2 - c * s1 * s2, 0)) / len(x)


def tone_received(path):
    """(level in dB of what was sent, share of the power at 1 kHz) over the middle of the call."""
    with wave.open(path, "rb") as w:
        data = w.readframes(w.getnframes())
    x = struct.unpack(f"<{len(data) // 2}h", data)
    start, end = int(0.8 * RATE), len(x) - int(0.5 * RATE)
    expect(end - start >= RATE, f"{path}: only {len(x) / RATE:.2f} s of audio")
    win = x[start:end]
    rms = math.sqrt(sum(v * v for v in win) / len(win))
    tone = goertzel_rms(win, TONE_HZ)
    sent = 10 ** (TONE_DBFS / 20) * 32767 / math.sqrt(2)
    return 20 * math.log10(max(tone, 1e-9) / sent), (tone / rms) ** 2 if rms > 0 else 0


def expect_tone(t, path, what):
    level, share = tone_received(path)
    t.tap._diag(f"{what}: 1 kHz at {level:+.2f} dB of what was sent, {100 * share:.1f}% of the power")
    expect(abs(level) <= 1.0 and share > 0.9, f"{what}: level {level:+.2f} dB, {100 * share:.1f}% at 1 kHz")


# ---- the relay: SIP (stateless, with its own Via) and media ----

# A replay sends again the packet forwarded this many packets before: each replay a
# different packet, well inside SRTP's replay window (64 or more), whose original
# the phone has had for half a second.
REPLAY_AGE = 25


class Relay:
    """Alice calls sip:bob@127.0.0.1:<relay.sip_port>. The relay forwards
    requests to bob and responses back to alice, and replaces the m=audio
    port of each side's SDP with one of its own, where it takes that side's
    RTP (and RTCP on the port above) and sends it on. In-dialog requests (ACK
    to 2xx, BYE) go between the phones directly; the media does not."""

    def __init__(self, bob_sip_port):
        self.bob = (LOOPBACK, bob_sip_port)
        self.sip = self._socket(free_port())
        self.sip_port = self.sip.getsockname()[1]
        # toward alice (from bob) and toward bob (from alice): RTP and RTCP sockets
        self.media = {d: [self._socket(p), self._socket(p + 1)]
                      for d, p in (("to_alice", free_port_pair()), ("to_bob", free_port_pair()))}
        self.dest = {"to_alice": None, "to_bob": None}       # the real RTP port of each phone
        self.mode = {"to_alice": "pass", "to_bob": "pass"}
        self.count = {d: {"forwarded": [0, 0], "flipped": [0, 0], "replayed": [0, 0], "duplicated": [0, 0]}
                      for d in self.media}
        self.rtp = {d: [] for d in self.media}               # RTP packets as seen, up to RTP_KEEP
        self.saved = {d: [[], []] for d in self.media}       # for replays

        self.origins = {}
        self.keys = set()                                    # inline: keys seen in SDP (to look for in logs)
        self.sdp = []
        self._stop = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    RTP_KEEP = 2000

    @staticmethod
    def _socket(port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((LOOPBACK, port))
        return s

    def port(self, direction):
        return self.media[direction][0].getsockname()[1]

    @property
    def uri_for_bob(self):
        return f"sip:bob@{LOOPBACK}:{self.sip_port}"

    def stop(self):
        self._stop = True
        self._thread.join(5)
        for s in [self.sip] + [x for pair in self.media.values() for x in pair]:
            s.close()

    def set_mode(self, direction, mode):
        with self._lock:
            self.mode[direction] = mode

    def counts(self, direction):
        with self._lock:
            return {k: list(v) for k, v in self.count[direction].items()}

    def packets(self, direction):
        with self._lock:
            return list(self.rtp[direction])

    def clear_packets(self):
        with self._lock:
            for d in self.rtp:
                self.rtp[d].clear()

    # SIP

    def _rewrite_sdp(self, body, direction):
        """Point the SDP at the relay's port for the other side to send to."""
        text = body.decode(errors="replace")
        self.sdp.append(text)
        self.keys.update(re.findall(r"inline:([A-Za-z0-9+/=]+)", text))
        m = re.search(r"^m=audio (\d+) ", text, re.M)
        if not m:
            return body
        # the SDP from alice says where alice receives: bob is to send to our "to_alice" port
        with self._lock:
            self.dest[direction] = int(m.group(1))
        text = text[:m.start(1)] + str(self.port(direction)) + text[m.end(1):]
        return text.encode()

    @staticmethod
    def _split(data):
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        return lines, body

    @staticmethod
    def _join(lines, body):
        lines = [ln for ln in lines if not re.match(r"(?i)^(content-length|l)\s*:", ln)]
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def _on_sip(self, data, src):
        lines, body = self._split(data)
        is_sdp = any(re.match(r"(?i)^(content-type|c)\s*:\s*application/sdp", ln) for ln in lines)
        if lines[0].startswith("SIP/2.0 "):
            # a response from bob: our Via goes, back to where the request came from
            vias = [i for i, ln in enumerate(lines) if re.match(r"(?i)^(via|v)\s*:", ln)]
            if not vias:
                return
            branch = re.search(r"branch=([^;,\s]+)", lines[vias[0]])
            del lines[vias[0]]
            origin = self.origins.get(branch.group(1) if branch else "")
            if not origin:
                return
            if is_sdp and body:
                body = self._rewrite_sdp(body, "to_bob")
            self.sip.sendto(self._join(lines, body), origin)
            return
        # a request from alice: our Via on top, on to bob
        top = next((ln for ln in lines if re.match(r"(?i)^(via|v)\s*:", ln)), "")
        orig = re.search(r"branch=([^;,\s]+)", top)
        branch = "z9hG4bK-relay-" + hashlib.sha1((orig.group(1) if orig else top).encode()).hexdigest()[:16]
        self.origins[branch] = src
        lines.insert(1, f"Via: SIP/2.0/UDP {LOOPBACK}:{self.sip_port};branch={branch}")
        if is_sdp and body:
            body = self._rewrite_sdp(body, "to_alice")
        self.sip.sendto(self._join(lines, body), self.bob)

    # media

    def _on_media(self, direction, k, data):
        """One packet, under the lock: counts read after set_mode() has
        returned include every packet handled in the old mode."""
        with self._lock:
            self._forward(direction, k, data)

    def _forward(self, direction, k, data):
        dest = self.dest[direction]
        mode = self.mode[direction]
        count = self.count[direction]
        if k == 0 and len(self.rtp[direction]) < self.RTP_KEEP:
            self.rtp[direction].append(data)
        if dest is None:
            return
        out = self.media[direction][k]
        to = (LOOPBACK, dest + k)
        if mode == "flip" and len(data) > 21:
            b = bytearray(data)
            b[20 if k == 0 else 12] ^= 0x04     # in the (encrypted) payload, never in the header
            data = bytes(b)
            count["flipped"][k] += 1
        out.sendto(data, to)
        count["forwarded"][k] += 1
        if mode == "duplicate":                 # as a network that duplicates packets
            out.sendto(data, to)
            count["duplicated"][k] += 1
        saved = self.saved[direction][k]
        if mode == "replay" and len(saved) >= REPLAY_AGE:
            out.sendto(saved[-REPLAY_AGE], to)
            count["replayed"][k] += 1
        if mode != "flip":
            saved.append(data)
            del saved[:-64]

    def _run(self):
        sockets = {self.sip: None}
        for d, pair in self.media.items():
            for k, s in enumerate(pair):
                sockets[s] = (d, k)
        while not self._stop:
            ready, _, _ = select.select(list(sockets), [], [], 0.1)
            for s in ready:
                try:
                    data, src = s.recvfrom(65536)
                except OSError:
                    continue
                if sockets[s] is None:
                    self._on_sip(data, src)
                else:
                    self._on_media(*sockets[s], data)


def start_relay(t, bob):
    relay = Relay(bob.sip_port)

    class Stopper:
        name = "relay"

        def logs(self):
            return []

        def stop(self):
            relay.stop()
    t.add(Stopper())
    return relay


# ---- phones and calls ----

def phone(t, name, srtp, account_extra=None, kam=None):
    built("sipd")
    built("mediad")
    d = os.path.join(t.tap.dir, re.sub(r"[^A-Za-z0-9]+", "-", t.name).strip("-"))
    os.makedirs(d, exist_ok=True)
    capture, playback = os.path.join(d, f"{name}-in.wav"), os.path.join(d, f"{name}-out.wav")
    write_tone(capture)
    cfg = {
        "deskphone.audio.capture_device": "file:" + capture,
        "deskphone.audio.playback_device": "file:" + playback,
        "deskphone.log_level": "debug",
    }
    extra = {"srtp_encryption": MODES[srtp], "codec.pcmu.enable": 1, "codec.pcmu.priority": 1,
             "codec.pcma.enable": 0, "codec.g722.enable": 0, "codec.opus.enable": 0}
    extra.update(account_extra or {})
    if kam:
        cfg.update(kam.account_cfg(1, name, extra=extra))
    else:
        cfg.update({"account.1.enable": 1, "account.1.user_name": name, "account.1.label": name})
        cfg.update({f"account.1.{k}": v for k, v in extra.items()})
    p = t.phone(cfg=cfg, services=SERVICES, name=name)
    p.playback = playback
    p.wait("sip", "ListenPort", p.sip_port)
    return p


def dial(a, target):
    path = a.ctl_ok("dial", target, "--account", "1").strip()
    expect(path.startswith("/org/deskphone/Sip1/call/"), f"dial printed {path!r}")
    return "call/" + path.rsplit("/", 1)[1]


def connect(a, b, target, b_call="call/1"):
    call = dial(a, target)
    b.wait(b_call, "State", "incoming")
    b.ctl_ok("answer", b_call)
    a.wait(call, "State", "active")
    b.wait(b_call, "State", "active")
    return call


def stream(p):
    streams = p.objects("stream/")
    expect(len(streams) == 1, f"{p.name}: {len(streams)} streams")
    return next(iter(streams.items()))


def hangup(a, b, call, b_call="call/1"):
    a.ctl_ok("hangup", call)
    a.wait(call, "State", "ended")
    b.wait(b_call, "State", "ended")


def audio_closed(*phones):
    """mediad closed the audio device: the playback files are complete."""
    for p in phones:
        p.wait("media", "AudioActive", "false")


def udp_drops(port):
    """Datagrams the kernel dropped for the UDP sockets on local port (their
    receive buffer full: a receiver that did not run for a while, as under
    CI's load). Such a drop is no packet the phone saw."""
    drops = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                drops += int(fields[-1])
    return drops


def wait_stat(p, name, minimum, timeout=6):
    """A stream statistic (updated once a second) reaching minimum; its value."""
    deadline = time.monotonic() + timeout
    while True:
        _, s = stream(p)
        if s[name] >= minimum or time.monotonic() > deadline:
            return s[name]
        time.sleep(0.25)


# 3 s of audio at 20 ms a packet: enough for expect_tone(), which takes 1 s
# from the middle of the call, and more than the 100 packets cases ask for
AUDIO_PACKETS = 150


def wait_audio(phones, packets=AUDIO_PACKETS, timeout=15):
    """Each phone has received packets RTP packets: the call lasts as long as
    the audio needs, however slowly the machine runs."""
    for p in phones:
        got = wait_stat(p, "PacketsReceived", packets, timeout=timeout)
        expect(got >= packets, f"{p.name}: {got} packets received after {timeout} s, waited for {packets}")


def set_srtp(p, mode):
    """account.1.srtp_encryption, and wait until sipd has applied it (it
    follows Config1's Changed signal, then fetches the configuration)."""
    p.set({"account.1.srtp_encryption": MODES[mode]})
    p.wait("account/1", "SrtpEncryption", mode)


def wait_relay(relay, direction, what, n=60, timeout=10):
    """The relay has done what (flipped, replayed) to n RTP packets toward direction."""
    wait_until(lambda: relay.counts(direction)[what][0] >= n, timeout,
               f"the relay to have {what} {n} RTP packets {direction.replace('_', ' ')} "
               f"({relay.counts(direction)[what][0]} so far)")


def no_keys_in_logs(t, phones, keys):
    expect(keys, "no a=crypto keys were seen in the SDP")
    for p in phones:
        with open(p.log_path, errors="replace") as f:
            log = f.read()
        expect("debug:" in log, f"{p.name}: the log is not at debug level")
        leaked = [k for k in keys if k in log]
        expect(not leaked, f"{p.name}: {len(leaked)} SRTP key(s) in the log")
    t.tap._diag(f"{len(keys)} keys from the SDP, none in {len(phones)} debug logs")


# ---- cases ----

def clear_reference(t, a, b, relay):
    """A call in the clear through the relay: the payloads the tone makes without SRTP."""
    call = connect(a, b, relay.uri_for_bob)
    wait_stat(b, "PacketsReceived", 60)
    clear = set(payloads(relay.packets("to_bob")))
    expect(a.properties(call)["MediaEncryption"] == "none", "the clear call says it is encrypted")
    hangup(a, b, call)
    relay.clear_packets()
    share = sum(periodic_share(p) for p in clear) / max(len(clear), 1)
    t.tap._diag(f"clear: {len(clear)} distinct PCMU payloads, {100 * share:.0f}% of each repeats after 8 bytes")
    expect(0 < len(clear) <= 8 and share > 0.9, "the clear tone does not look like a tone")
    return clear


@tap.case("/srtp/direct/compulsory-audio-and-capture")
def _(t):
    a = phone(t, "alice", "off")
    b = phone(t, "bob", "off")
    relay = start_relay(t, b)
    clear = clear_reference(t, a, b, relay)
    for p in (a, b):
        set_srtp(p, "compulsory")
    call = connect(a, b, relay.uri_for_bob, b_call="call/2")
    a.wait(call, "MediaEncryption", "srtp")
    b.wait("call/2", "MediaEncryption", "srtp")
    wait_audio((a, b))
    for p in (a, b):
        _, s = stream(p)
        expect(s["Encryption"] == "srtp:AEAD_AES_256_GCM", f"{p.name}: Encryption {s['Encryption']!r}")
        expect(s["PacketsReceived"] > 100 and s["PacketsLost"] == 0 and s["SrtpAuthFailures"] == 0,
               f"{p.name}: {s['PacketsReceived']} received, {s['PacketsLost']} lost, "
               f"{s['SrtpAuthFailures']} auth failures")
    hangup(a, b, call, b_call="call/2")
    audio_closed(a, b)
    expect_tone(t, a.playback, "alice <- bob")
    expect_tone(t, b.playback, "bob <- alice")
    for direction in ("to_bob", "to_alice"):
        seen = payloads(relay.packets(direction))
        same = sum(1 for p in seen if p[:160] in clear)
        share = sum(periodic_share(p) for p in seen) / max(len(seen), 1)
        t.tap._diag(f"SRTP {direction}: {len(seen)} packets, {same} with a clear payload, "
                    f"{100 * share:.1f}% repeating after 8 bytes, {len(set(seen))} distinct")
        expect(len(seen) > 100 and same == 0 and share < 0.05 and len(set(seen)) == len(seen),
               f"{direction}: the payload on the wire is not encrypted")
        expect(all(len(p) == 160 + 16 for p in seen), f"{direction}: not 160 octets and a 16-octet GCM tag")
    expect(any("RTP/SAVP" in s for s in relay.sdp), "no RTP/SAVP offer")
    no_keys_in_logs(t, (a, b), relay.keys)


def tamper(t, relay, b, mode, what, stats):
    """The relay in mode toward bob for 60 RTP packets (and the RTCP among them); bob
    must count each in stats (the SRTP and SRTCP statistic). Returns the relay's
    [RTP, RTCP] counts. Every tampered packet that reached bob's socket is counted;
    one the kernel dropped (bob's receive buffer full under load) never reached it:
    for a replay, its original may be the one dropped, and the replay then counts
    as the original."""
    rtp_port = relay.dest["to_bob"]
    before = stream(b)[1]
    drops = udp_drops(rtp_port)
    relay.set_mode("to_bob", mode)
    wait_relay(relay, "to_bob", what)
    relay.set_mode("to_bob", "pass")
    done = relay.counts("to_bob")[what]
    got = wait_stat(b, stats[0], before[stats[0]] + done[0]) - before[stats[0]]
    got_rtcp = wait_stat(b, stats[1], before[stats[1]] + done[1]) - before[stats[1]]
    lost = udp_drops(rtp_port) - drops
    t.tap._diag(f"{what} {done[0]} SRTP and {done[1]} SRTCP packets: bob counted {got} and {got_rtcp} in "
                f"{stats[0]}/{stats[1]}; the kernel dropped {lost} RTP datagrams")
    expect(done[0] >= 50 and done[0] - lost <= got <= done[0],
           f"{done[0]} {what}, {got} counted in {stats[0]}, {lost} dropped by the kernel")
    expect(got_rtcp == done[1], f"{done[1]} SRTCP {what}, {got_rtcp} counted in {stats[1]}")
    return done


@tap.case("/srtp/direct/tamper-and-replay")
def _(t):
    a = phone(t, "alice", "compulsory")
    b = phone(t, "bob", "compulsory")
    relay = start_relay(t, b)
    call = connect(a, b, relay.uri_for_bob)
    b.wait("call/1", "MediaEncryption", "srtp")
    wait_stat(b, "PacketsReceived", 50)

    flipped = tamper(t, relay, b, "flip", "flipped", ("SrtpAuthFailures", "SrtcpAuthFailures"))
    received = stream(b)[1]["PacketsReceived"]
    tamper(t, relay, b, "replay", "replayed", ("SrtpReplays", "SrtcpReplays"))
    # a packet is replayed after each one forwarded: 60 more at least, once the statistics catch up
    wait_stat(b, "PacketsReceived", received + 60)
    _, s = stream(b)
    expect(s["SrtpAuthFailures"] == flipped[0], "replays counted as authentication failures")
    expect(s["PacketsReceived"] >= received + 60, "the call stopped playing during the replays")
    # a network that sends every packet twice, back to back: each second copy is a replay
    tamper(t, relay, b, "duplicate", "duplicated", ("SrtpReplays", "SrtcpReplays"))
    expect(b.properties("call/1")["State"] == "active", "the call did not survive")
    hangup(a, b, call)


@tap.case("/srtp/direct/compulsory-refused-by-off")
def _(t):
    a = phone(t, "alice", "compulsory")
    b = phone(t, "bob", "off")
    call = dial(a, b.uri)
    a.wait(call, "State", "ended")
    reason = a.properties(call)["EndReason"]
    expect(reason.startswith("488"), f"alice's EndReason {reason!r}")
    b.wait("call/1", "State", "ended")
    reason = b.properties("call/1")["EndReason"]
    t.tap._diag(f"bob (off) refused RTP/SAVP: {reason!r}")
    expect("SRTP" in reason or "RTP/SAVP" in reason, f"bob's EndReason {reason!r}")
    # and the other way: compulsory alice refuses the RTP/AVP of bob (off)
    call = dial(b, a.uri)
    b.wait(call, "State", "ended")
    a.wait("call/2", "State", "ended")
    reason = a.properties("call/2")["EndReason"]
    expect("compulsory" in reason, f"alice's EndReason {reason!r}")
    expect(b.properties(call)["EndReason"].startswith("488"), "bob's call did not end with 488")


@tap.case("/srtp/direct/optional-and-off")
def _(t):
    """optional <-> off in the clear both ways; optional <-> optional encrypted."""
    a = phone(t, "alice", "optional")
    b = phone(t, "bob", "off")
    relay = start_relay(t, b)
    call = connect(a, b, relay.uri_for_bob)
    wait_audio((a, b))
    for p, c in ((a, call), (b, "call/1")):
        props = p.properties(c)
        _, s = stream(p)
        expect(props["MediaEncryption"] == "none" and s["Encryption"] == "none",
               f"{p.name}: {props['MediaEncryption']}, {s['Encryption']}")
        expect(s["PacketsReceived"] > 50, f"{p.name}: {s['PacketsReceived']} packets")
    expect(any("a=crypto:" in s and "RTP/AVP " in s for s in relay.sdp[:1]),
           "alice (optional) did not offer RTP/AVP with a=crypto")
    hangup(a, b, call)
    seen = payloads(relay.packets("to_bob"))
    expect(sum(periodic_share(p) for p in seen) / len(seen) > 0.9, "the clear call does not carry the tone")
    audio_closed(a, b)
    expect_tone(t, a.playback, "optional alice <- off bob")
    expect_tone(t, b.playback, "off bob <- optional alice")
    call = connect(b, a, a.uri, b_call="call/2")  # off calls optional: a plain offer, a plain answer
    # media flowing to alice: her stream has been started with what was
    # negotiated, and sipd reads MediaEncryption from that stream
    wait_audio((a,), packets=1)
    _, s = stream(a)
    expect(s["Encryption"] == "none", f"optional answered a plain offer with {s['Encryption']}")
    expect(a.properties("call/2")["MediaEncryption"] == "none", "optional answered a plain offer with SRTP")
    hangup(b, a, call, b_call="call/2")
    set_srtp(b, "optional")
    call = connect(a, b, b.uri, b_call="call/3")
    a.wait(call, "MediaEncryption", "srtp")
    b.wait("call/3", "MediaEncryption", "srtp")
    hangup(a, b, call, b_call="call/3")


@tap.case("/srtp/sipp/avp-only-refused")
def _(t):
    t.require("sipp")
    a = phone(t, "alice", "compulsory")
    uac = t.sipp("uac-avp-only", remote=f"{LOOPBACK}:{a.sip_port}", service="alice")
    uac.start()
    uac.expect_success()
    expect("488" in uac.messages(), "no 488 in SIPp's messages")
    a.wait("call/1", "State", "ended")
    reason = a.properties("call/1")["EndReason"]
    t.tap._diag(f"EndReason {reason!r}")
    expect("compulsory" in reason, f"EndReason {reason!r}")


@tap.case("/srtp/direct/hold-resume-new-keys")
def _(t):
    """Hold and resume re-INVITE with new keys each time; the audio goes on encrypted."""
    a = phone(t, "alice", "compulsory")
    b = phone(t, "bob", "compulsory")
    call = connect(a, b, b.uri)
    b.wait("call/1", "MediaEncryption", "srtp")
    a.ctl_ok("hold", call)
    a.wait(call, "State", "held")
    b.wait("call/1", "State", "held")
    a.ctl_ok("resume", call)
    a.wait(call, "State", "active")
    b.wait("call/1", "State", "active")
    received = wait_stat(b, "PacketsReceived", 0)
    got = wait_stat(b, "PacketsReceived", received + 60)
    expect(got >= received + 60, "no audio after resume")
    for p in (a, b):
        _, s = stream(p)
        t.tap._diag(f"{p.name}: {s['SrtpAuthFailures']} authentication failures across two re-keyings")
        expect(s["SrtpAuthFailures"] <= 5 and s["Encryption"].startswith("srtp:"), f"{p.name}: {s}")
    for p in (a, b):
        with open(p.log_path, errors="replace") as f:
            n = f.read().count("new SRTP keys")
        expect(n >= 2, f"{p.name}: {n} times new SRTP keys, expected one per re-INVITE")
    hangup(a, b, call)


@tap.case("/srtp/kamailio/compulsory")
def _(t):
    t.require("kamailio")
    kam = t.kamailio(users=USERS)
    a = phone(t, "alice", "compulsory", kam=kam)
    b = phone(t, "bob", "compulsory", kam=kam)
    a.wait("account/1", "State", "registered")
    b.wait("account/1", "State", "registered")
    call = connect(a, b, "bob")
    a.wait(call, "MediaEncryption", "srtp")
    b.wait("call/1", "MediaEncryption", "srtp")
    ports = [s["LocalPort"] for s in (stream(a)[1], stream(b)[1])]
    cap = Capture.start(t, ports)
    wait_stat(b, "PacketsReceived", wait_stat(b, "PacketsReceived", 0) + 125)  # the capture's length
    seen = payloads(cap.stop()) if cap else None
    for p in (a, b):
        _, s = stream(p)
        expect(s["PacketsReceived"] > 100 and s["SrtpAuthFailures"] == 0, f"{p.name}: {s}")
    hangup(a, b, call)
    audio_closed(a, b)
    expect_tone(t, a.playback, "alice <- bob (Kamailio)")
    expect_tone(t, b.playback, "bob <- alice (Kamailio)")
    if seen is None:
        t.tap._diag("tshark cannot capture on lo here: the wire was checked by the relay cases only")
        return
    share = sum(periodic_share(p) for p in seen) / max(len(seen), 1)
    t.tap._diag(f"tshark on lo: {len(seen)} RTP packets, {100 * share:.1f}% of their payload repeating after 8 "
                f"bytes, {len(set(seen))} distinct")
    expect(len(seen) > 100 and share < 0.05 and len(set(seen)) == len(seen), "clear RTP on lo")


def baresip_srtp(t):
    """baresip with its srtp module and mediaenc=srtp-mand (lib/baresip.py)."""
    t.require("baresip")
    try:
        from baresip import Baresip, require_modules
    except ImportError:
        raise Skip("lib/baresip.py is not there")
    require_modules("srtp", "g711")
    return t.add(Baresip(t._dir("baresip"), codecs=["PCMU"], mediaenc="srtp-mand"))


def baresip_case(phone_calls):
    def run(t):
        bs = baresip_srtp(t)
        a = phone(t, "alice", "compulsory")
        bs.start()
        if phone_calls:
            call = dial(a, bs.uri)
            bs.event("CALL_INCOMING")
            bs.accept()
        else:
            bs.dial(a.uri)
            call = "call/1"
            a.wait(call, "State", "incoming")
            a.ctl_ok("answer", call)
        bs.event("CALL_ESTABLISHED")
        a.wait(call, "State", "active")
        a.wait(call, "MediaEncryption", "srtp")
        wait_audio((a,))
        _, s = stream(a)
        t.tap._diag(f"phone: {s['Encryption']}, {s['PacketsReceived']} received, {s['SrtpAuthFailures']} auth "
                    f"failures, {s['SrtpReplays']} replays")
        expect(s["PacketsReceived"] > 100 and s["SrtpAuthFailures"] == 0, f"phone: {s}")
        if phone_calls:
            a.ctl_ok("hangup", call)
        else:
            bs.hangup()
        a.wait(call, "State", "ended")
        bs.event("CALL_CLOSED")
        bs.stop()
        a.stop()
        expect_tone(t, a.playback, "phone <- baresip")
        decoded = bs.decoded()
        with wave.open(decoded, "rb") as w:
            expect(w.getframerate() == 8000, f"{decoded}: {w.getframerate()} Hz")
            data = w.readframes(w.getnframes())
        x = struct.unpack(f"<{len(data) // 2}h", data)[int(0.8 * 8000):-4000]
        tone = goertzel_rms_at(x, TONE_HZ, 8000)
        level = 20 * math.log10(max(tone, 1e-9) / (10 ** (TONE_DBFS / 20) * 32767 / math.sqrt(2)))
        power = math.sqrt(sum(v * v for v in x) / len(x))
        share = (tone / power) ** 2 if power else 0
        t.tap._diag(f"baresip <- phone: 1 kHz at {level:+.2f} dB, {100 * share:.1f}% of the power")
        expect(abs(level) <= 1.0 and share > 0.9, "baresip did not hear the phone's tone")
    return run


def goertzel_rms_at(x, hz, rate):
    w = 2 * math.pi * hz / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + c * s1 - s2, s1
    return math.sqrt(2 * max(s1 * s1 + s2 * s2 - c * s1 * s2, 0)) / len(x)


tap.case("/srtp/baresip/baresip-calls-phone")(baresip_case(phone_calls=False))
tap.case("/srtp/baresip/phone-calls-baresip")(baresip_case(phone_calls=True))

tap.run()
