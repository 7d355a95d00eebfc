#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Two phones (provd, sipd, mediad) in a PCMU call through tests/integration/
relay.py, which proxies the SIP and relays the RTP with 5% random loss and
up to 40 ms of random delay (uniform 0-40 ms per packet, so some packets
are reordered), deterministically from a seed (DESKPHONE_TEST_SEED, default
4), issue 4. Each phone sends a 1 kHz tone from a WAV capture file; after
the call each playback file must still hold the other side's tone, and each
phone's stream statistics must show what the relay did: PacketsLost equal
to the relay's count of missing sequence numbers (within 3: RFC 3550's
probation leaves out the first packets when they arrive reordered),
a loss rate of a few percent, and an interarrival Jitter close to the one
the relay computes for what it sent (RFC 3550 A.8). A second case with
jitter only checks that reordering is not counted as loss."""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from deskphone import (LOOPBACK, START_TIMEOUT, Resource, Tap, TestFailure, _read_line, _stop_process,  # noqa: E402
                       built, expect)
from audio import analyse, expect_tone, write_tone  # noqa: E402

tap = Tap()
SERVICES = ["provd", "sipd", "mediad"]
CALL_SECONDS = 6.0
SEED = os.environ.get("DESKPHONE_TEST_SEED", "4")
RELAY = os.path.join(HERE, "relay.py")


class Relay(Resource):
    """relay.py in front of a phone's SIP port."""

    def __init__(self, workdir, target_port, **impairment):
        self.name = "relay"
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.log_path = os.path.join(self.dir, "relay.log")
        args = [sys.executable, RELAY, "--target", f"{LOOPBACK}:{target_port}", "--seed", str(SEED), "--trace"]
        for k, v in impairment.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
        line = _read_line(self.proc.stdout, START_TIMEOUT)
        if not line or not line.startswith("RELAY_READY sip="):
            _stop_process(self.proc)
            raise TestFailure(f"relay did not start (first line {line!r})")
        self.sip_port = int(line.split("=", 1)[1])

    def command(self, cmd):
        self.proc.stdin.write(cmd.encode() + b"\n")
        self.proc.stdin.flush()
        line = _read_line(self.proc.stdout, 10)
        expect(line is not None, f"relay: no answer to {cmd}")
        return line

    def stats(self):
        return json.loads(self.command("stats"))

    def logs(self):
        return [(self.name, self.log_path)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                rc = _stop_process(self.proc)
        else:
            rc = self.proc.returncode
            self.proc.stdin.close()
        self.proc.stdout.close()
        if rc != 0:
            raise TestFailure(f"relay exited with status {rc}")


def phone_cfg(t, name):
    d = os.path.join(t.tap.dir, t.name.strip("/").replace("/", "-"))
    os.makedirs(d, exist_ok=True)
    capture, playback = os.path.join(d, f"{name}-in.wav"), os.path.join(d, f"{name}-out.wav")
    write_tone(capture, rate=16000)
    cfg = {
        "deskphone.audio.capture_device": "file:" + capture,
        "deskphone.audio.playback_device": "file:" + playback,
        "account.1.enable": 1,
        "account.1.user_name": name,
        "account.1.label": name,
        "account.1.codec.pcmu.enable": 1,
        "account.1.codec.pcmu.priority": 1,
    }
    for key in ("pcma", "g722", "opus"):
        cfg[f"account.1.codec.{key}.enable"] = 0
    return cfg, playback


def the_stream(phone):
    streams = phone.objects("stream/")
    expect(len(streams) == 1, f"{phone.name}: {len(streams)} streams")
    return next(iter(streams.items()))


def impaired_call(t, loss, jitter_ms):
    """A call from alice to bob through the relay; returns what each end and
    the relay counted, and the two playback files."""
    built("sipd")
    built("mediad")
    cfg_a, out_a = phone_cfg(t, "alice")
    cfg_b, out_b = phone_cfg(t, "bob")
    a = t.phone(cfg=cfg_a, services=SERVICES, name="alice")
    b = t.phone(cfg=cfg_b, services=SERVICES, name="bob")
    a.wait("sip", "ListenPort", a.sip_port)
    b.wait("sip", "ListenPort", b.sip_port)
    relay = t.add(Relay(os.path.join(t.tap.dir, t.name.strip("/").replace("/", "-"), "relay"), b.sip_port,
                        loss=loss, jitter_ms=jitter_ms))
    path = a.ctl_ok("dial", f"sip:bob@{LOOPBACK}:{relay.sip_port}", "--account", "1").strip()
    expect(path.startswith("/org/deskphone/Sip1/call/"), f"dial printed {path!r}")
    call_a = "call/" + path.rsplit("/", 1)[1]
    b.wait("call/1", "State", "incoming")
    b.ctl_ok("answer")
    a.wait(call_a, "State", "active")
    b.wait("call/1", "State", "active")
    stream_a, props_a = the_stream(a)
    stream_b, props_b = the_stream(b)
    # each sends to the relay, not to the other
    for p, mine, other in ((a, props_a, props_b), (b, props_b, props_a)):
        expect(mine["RemotePort"] not in (0, other["LocalPort"]),
               f"{p.name}: sends RTP to port {mine['RemotePort']}, not through the relay "
               f"(the other phone's port is {other['LocalPort']})")

    time.sleep(CALL_SECONDS)  # the call's length: audio flows through the relay meanwhile
    # no more RTP: the relay's counters and the phones' stop together
    expect(relay.command("freeze") == "frozen", "relay did not freeze")
    r = relay.stats()
    got = settled_stats({"a2b": (b, stream_b), "b2a": (a, stream_a)})
    # and what each sender learnt by RTCP about that direction (diagnostics:
    # the last report may be up to an RTCP interval old)
    for d, back in (("a2b", "b2a"), ("b2a", "a2b")):
        got[d]["SenderRemotePacketsLost"] = got[back]["RemotePacketsLost"]
        got[d]["SenderRemoteJitter"] = got[back]["RemoteJitter"]
    a.ctl_ok("hangup", call_a)
    a.wait(call_a, "State", "ended")
    b.wait("call/1", "State", "ended")
    a.stop()
    b.stop()
    return r, got, {"a2b": out_b, "b2a": out_a}


PUBLISH_SECONDS = 1.1
PROBATION_SLACK = 3
RECEIVER_STATS = ("PacketsReceived", "PacketsLost", "Jitter")
SENDER_STATS = ("PacketsSent", "RemotePacketsLost", "RemoteJitter")


def settled_stats(streams, timeout=6.0):
    """{direction: statistics of the receiving stream} once RTP stopped and
    the statistics were published (at most once a second, media-stream-api.txt):
    two readings a publication apart agree on what the receivers counted."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        time.sleep(PUBLISH_SECONDS)
        now, full = {}, {}
        for d, (phone, stream) in streams.items():
            full[d] = phone.properties(stream)
            now[d] = {k: full[d][k] for k in RECEIVER_STATS}
        if now == last:
            return {d: {k: full[d][k] for k in RECEIVER_STATS + SENDER_STATS} for d in full}
        expect(time.monotonic() < deadline, f"stream statistics still changing after {timeout} s without RTP")
        last = now


def check_direction(t, d, relay, got, playback):
    rd = relay[d]
    received, lost, jitter = got["PacketsReceived"], got["PacketsLost"], got["Jitter"]
    loss_pct = 100.0 * lost / max(1, received + lost)
    dropped_pct = 100.0 * rd["dropped"] / max(1, rd["in"])
    t.tap._diag(f"{d}: relay: {rd['in']} in, {rd['dropped']} dropped ({dropped_pct:.1f}%), "
                f"{rd['lost_seen']} missing in what it sent, {rd['reordered']} reordered, jitter in "
                f"{rd['jitter_in_us'] / 1000:.1f} ms, out {rd['jitter_out_us'] / 1000:.1f} ms, "
                f"largest delay {rd['max_delay_ms']:.1f} ms")
    t.tap._diag(f"{d}: receiver: {received} received, {lost} lost ({loss_pct:.1f}%), "
                f"jitter {jitter / 1000:.1f} ms; sender: its peer's last RTCP report says "
                f"{got['SenderRemotePacketsLost']} lost, jitter {got['SenderRemoteJitter'] / 1000:.1f} ms")
    a = analyse(playback, until=CALL_SECONDS)
    # a tone survives 5% loss through the concealment: the same limits as without loss
    t.tap._diag(expect_tone(a, f"{d} audio"))
    expect(a.seconds >= CALL_SECONDS, f"{d}: only {a.seconds:.2f} s of playback")
    # A receiver counts from the second of two packets in sequence (RFC 3550
    # A.1 probation): reordering at the start leaves out a few, and with them
    # any loss among them.
    expect(abs(lost - rd["lost_seen"]) <= PROBATION_SLACK,
           f"{d}: the receiver counts {lost} lost, the relay left out {rd['lost_seen']} sequence numbers")
    expect(rd["sent"] - 4 * PROBATION_SLACK <= received <= rd["sent"],
           f"{d}: {received} received of {rd['sent']} the relay sent")
    # The sender's view lags (RTCP every few seconds). It can exceed the final count only
    # by packets that came late: RFC 3550's cumulative loss (expected - received) counts a
    # packet the relay delayed past a later one as lost in a report sent before it came.
    expect(got["SenderRemotePacketsLost"] <= lost + rd["reordered"],
           f"{d}: RTCP told the sender {got['SenderRemotePacketsLost']} lost, the receiver counts {lost}, "
           f"the relay reordered {rd['reordered']}")
    return loss_pct, jitter, rd


@tap.case("/media/impairment/loss-5-jitter-40")
def _(t):
    relay, got, playback = impaired_call(t, loss=0.05, jitter_ms=40)
    for d in ("a2b", "b2a"):
        loss_pct, jitter, rd = check_direction(t, d, relay, got[d], playback[d])
        expect(2.0 <= loss_pct <= 9.0, f"{d}: loss {loss_pct:.1f}% is not about 5%")
        # uniform 0-40 ms per packet: mean |D(i) - D(i-1)| is 40/3 = 13.3 ms
        expect(7000 <= jitter <= 22000, f"{d}: jitter {jitter / 1000:.1f} ms is not about 13 ms")
        ref = rd["jitter_out_us"]
        expect(0.6 * ref <= jitter <= 1.5 * ref,
               f"{d}: jitter {jitter / 1000:.1f} ms, the relay sent with {ref / 1000:.1f} ms")


@tap.case("/media/impairment/jitter-40-no-loss")
def _(t):
    relay, got, playback = impaired_call(t, loss=0, jitter_ms=40)
    for d in ("a2b", "b2a"):
        _, jitter, rd = check_direction(t, d, relay, got[d], playback[d])
        expect(rd["reordered"] > 0, f"{d}: the relay reordered nothing: no test of reordering")
        expect(got[d]["PacketsLost"] == 0, f"{d}: {got[d]['PacketsLost']} lost while nothing was")


tap.run()
