#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A SIP proxy and RTP relay on 127.0.0.1 that impairs the RTP it relays:
random loss and delay, deterministic from a seed (Python 3 stdlib only).

    relay.py --target 127.0.0.1:5070 [--seed 4] [--loss 0.05] [--jitter-ms 40] [--delay-ms 0]

Phone A calls sip:anyone@127.0.0.1:SIP_PORT (the port printed at start,
"RELAY_READY sip=PORT"); the relay forwards the call to the target (phone
B) as a stateless proxy (RFC 3261 16.11: its own Via with a branch derived
from the request's, Record-Route so the whole dialog passes here, Max-Forwards)
and rewrites every SDP it forwards (c=, m=audio, a=rtcp) so that each side
sends its RTP and RTCP to a port pair of the relay, which forwards them to
the other side's real addresses, from the port pair that side sends to
(symmetric). SIP and RTCP are never impaired; each RTP packet is dropped
with probability --loss and otherwise sent after --delay-ms plus a uniform
random delay in [0, --jitter-ms) (so packets can be reordered, as netem's
"delay D J" does). The draws come from one random.Random per direction
("a2b": from the caller, "b2a": to it) seeded with "SEED:DIRECTION", one
pair of draws per RTP packet in arrival order: the same seed and the same
packets give the same drops and delays.

Control on stdin, one command per line: "stats" prints one JSON line on
stdout: {"a2b": {...}, "b2a": {...}}, for each direction "in" (RTP packets
received), "dropped", "sent", "lost_seen" (what a receiver counts as lost
per RFC 3550 A.3 among the packets sent: the sequence numbers between the
first and the highest sent that were not sent), "jitter_in_us" and
"jitter_out_us" (RFC 3550 A.8 interarrival jitter of the packets as they
reached the relay and as it sent them, in microseconds: what a receiver
right behind it measures), "max_delay_ms" and "reordered"; "calls"
(Call-IDs seen). "freeze": relay no more RTP from now on, so that
both ends' counters stop where the relay's do; answers "frozen" once what
was queued has gone. "quit", end of input or SIGTERM: exit 0.
"""
import argparse
import hashlib
import heapq
import json
import random
import re
import select
import signal
import socket
import sys
import time

ADDRESS = "127.0.0.1"
STATIC_RATES = {0: 8000, 3: 8000, 4: 8000, 8: 8000, 9: 8000, 18: 8000}
COMPACT = {"v": "via", "l": "content-length", "c": "content-type", "m": "contact", "i": "call-id",
           "f": "from", "t": "to"}


def log(msg):
    print(f"relay: {msg}", file=sys.stderr, flush=True)


# ---- SIP messages ----

class Message:
    """A SIP message as a start line, ordered headers and a body."""

    def __init__(self, data):
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", errors="replace").split("\r\n")
        self.start = lines[0]
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:     # folded
                self.headers[-1][1] += " " + line.strip()
            elif ":" in line:
                name, value = line.split(":", 1)
                self.headers.append([name.strip(), value.strip()])
        self.body = body

    @property
    def is_request(self):
        return not self.start.startswith("SIP/2.0 ")

    @property
    def method(self):
        return self.start.split(" ", 1)[0] if self.is_request else None

    @staticmethod
    def _canon(name):
        n = name.lower()
        return COMPACT.get(n, n)

    def get(self, name):
        for n, v in self.headers:
            if self._canon(n) == name:
                return v
        return None

    def index(self, name):
        for i, (n, _) in enumerate(self.headers):
            if self._canon(n) == name:
                return i
        return -1

    def set(self, name, value):
        i = self.index(name)
        if i >= 0:
            self.headers[i][1] = value
        else:
            self.headers.append([name, value])

    def pop_first_value(self, name):
        """Take the first value of a header that may hold a comma-separated list."""
        i = self.index(name)
        if i < 0:
            return None
        values = split_list(self.headers[i][1])
        if len(values) > 1:
            self.headers[i][1] = ", ".join(values[1:])
        else:
            del self.headers[i]
        return values[0]

    def first_value(self, name):
        v = self.get(name)
        return split_list(v)[0] if v else None

    def encode(self):
        if self.index("content-length") >= 0 or self.body:
            self.set("content-length", str(len(self.body)))
        head = "\r\n".join([self.start] + [f"{n}: {v}" for n, v in self.headers])
        return head.encode() + b"\r\n\r\n" + self.body


def split_list(value):
    """Split a header value on commas outside <> and quotes."""
    out, cur, depth, quoted = [], "", 0, False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def uri_hostport(uri):
    m = re.search(r"sips?:(?:[^@;>]*@)?([^;>:?]+)(?::(\d+))?", uri)
    if not m:
        return None
    return m.group(1), int(m.group(2) or 5060)


def via_destination(via):
    """Where a response goes by a Via value (received= and rport= honoured)."""
    m = re.match(r"SIP/2\.0/\w+\s+([^;:\s]+)(?::(\d+))?(.*)", via)
    if not m:
        return None
    host, port, params = m.group(1), int(m.group(2) or 5060), m.group(3)
    r = re.search(r";\s*received=([^;\s]+)", params)
    if r:
        host = r.group(1)
    r = re.search(r";\s*rport=(\d+)", params)
    if r:
        port = int(r.group(1))
    return host, port


# ---- RTP ----

class Direction:
    """One direction of RTP: loss and delay draws, and what went through."""

    def __init__(self, name, seed, loss, delay_ms, jitter_ms):
        self.name = name
        self.rng = random.Random(f"{seed}:{name}")
        self.loss = loss
        self.delay = delay_ms / 1000.0
        self.jitter = jitter_ms / 1000.0
        self.n_in = self.dropped = self.sent = self.reordered = 0
        self.max_delay = 0.0
        self.seqs = set()
        self.first_ext = self.highest_ext = None
        self._last_sent_ext = None
        self.j_in = _Jitter()
        self.j_out = _Jitter()

    def decide(self):
        """(drop, delay in seconds) of the next packet."""
        u, d = self.rng.random(), self.rng.random()
        return u < self.loss, self.delay + d * self.jitter

    def extend(self, seq):
        """An extended sequence number near the highest one seen."""
        if self.highest_ext is None:
            return seq
        base = self.highest_ext
        ext = (base & ~0xFFFF) | seq
        if ext - base > 0x8000:
            ext -= 0x10000
        elif base - ext > 0x8000:
            ext += 0x10000
        return ext

    def on_sent(self, seq, ts, rate, when):
        ext = self.extend(seq)
        self.sent += 1
        self.seqs.add(ext)
        if self.first_ext is None or ext < self.first_ext:
            self.first_ext = ext
        if self.highest_ext is None or ext > self.highest_ext:
            self.highest_ext = ext
        if self._last_sent_ext is not None and ext < self._last_sent_ext:
            self.reordered += 1
        self._last_sent_ext = ext
        if rate:
            self.j_out.add(when, ts, rate)

    def stats(self):
        span = (self.highest_ext - self.first_ext + 1) if self.sent else 0
        return {"in": self.n_in, "dropped": self.dropped, "sent": self.sent,
                "lost_seen": span - len(self.seqs), "reordered": self.reordered,
                "jitter_in_us": int(self.j_in.value * 1e6), "jitter_out_us": int(self.j_out.value * 1e6),
                "max_delay_ms": round(self.max_delay * 1000, 1),
                "loss": self.loss, "delay_ms": self.delay * 1000, "jitter_ms": self.jitter * 1000}


class _Jitter:
    """RFC 3550 A.8, in seconds."""

    def __init__(self):
        self.value = 0.0
        self.last_transit = None

    def add(self, when, ts, rate):
        transit = when - ts / rate
        if self.last_transit is not None:
            d = abs(transit - self.last_transit)
            self.value += (d - self.value) / 16
        self.last_transit = transit


class Leg:
    """The relay's port pair standing in for one side's media."""

    def __init__(self, call, side):
        self.call = call
        self.side = side
        self.rtp, self.rtcp = _bind_pair()
        self.port = self.rtp.getsockname()[1]
        self.peer_rtp = None        # that side's real addresses
        self.peer_rtcp = None


def _bind_pair():
    for _ in range(200):
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind((ADDRESS, 0))
        port = a.getsockname()[1]
        if port % 2 == 0 and port < 65535:
            b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                b.bind((ADDRESS, port + 1))
                return a, b
            except OSError:
                b.close()
        a.close()
    raise RuntimeError("no free port pair")


class Call:
    def __init__(self, call_id):
        self.id = call_id
        self.legs = {}              # "A" (caller) / "B" (callee) -> Leg
        self.rates = {}             # payload type -> clock rate


# ---- the relay ----

class Relay:
    def __init__(self, target, seed, loss, delay_ms, jitter_ms, sip_port=0, trace=False):
        self.target = target
        self.trace = trace
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind((ADDRESS, sip_port))
        self.port = self.sip.getsockname()[1]
        self.calls = {}
        self.sockets = {}           # fd -> (leg, "rtp"|"rtcp")
        self.directions = {"a2b": Direction("a2b", seed, loss, delay_ms, jitter_ms),
                           "b2a": Direction("b2a", seed, loss, delay_ms, jitter_ms)}
        self.frozen = False         # RTP no longer relayed (nor counted)
        self.freeze_pending = False  # "frozen" is answered once the queue is empty
        self.queue = []             # (due, n, socket, data, address, direction, seq, ts, rate)
        self.n = 0

    # SIP

    def side_of(self, src):
        return "B" if src == self.target else "A"

    def on_sip(self, data, src):
        if not data.strip():
            return                  # keep-alive
        try:
            msg = Message(data)
        except ValueError:
            return
        side = self.side_of(src)
        if msg.is_request:
            dest = self.route_request(msg)
        else:
            top = msg.first_value("via") or ""
            if f"branch=z9hG4bK-relay" not in top:
                log(f"response without our Via dropped: {msg.start}")
                return
            msg.pop_first_value("via")
            nxt = msg.first_value("via")
            dest = via_destination(nxt) if nxt else None
        if not dest:
            log(f"no destination for {msg.start}")
            return
        self.rewrite_sdp(msg, side)
        out = msg.encode()
        log(f"{msg.start} from {side} {src[0]}:{src[1]} to {dest[0]}:{dest[1]}")
        if self.trace:
            log("<<<\n" + data.decode(errors="replace") + "\n>>>\n" + out.decode(errors="replace"))
        self.sip.sendto(out, dest)

    def ours(self, uri):
        return uri_hostport(uri) == (ADDRESS, self.port)

    def route_request(self, msg):
        parts = msg.start.split(" ")
        if len(parts) != 3:
            return None
        method, ruri, version = parts
        route = msg.first_value("route")
        if route and self.ours(route):
            msg.pop_first_value("route")
            route = msg.first_value("route")
        if route:
            dest = uri_hostport(route)
        elif self.ours(ruri):
            # the caller dialled the relay: on to the target, as a proxy
            # after a location lookup
            m = re.match(r"(sips?:)(?:([^@;>]*)@)?", ruri)
            user = m.group(2) if m else None
            ruri = f"sip:{user + '@' if user else ''}{self.target[0]}:{self.target[1]}"
            dest = self.target
        else:
            dest = uri_hostport(ruri)
        msg.start = f"{method} {ruri} {version}"
        mf = msg.get("max-forwards")
        if mf is not None:
            if not mf.isdigit() or int(mf) <= 0:
                return None
            msg.set("max-forwards", str(int(mf) - 1))
        top = msg.first_value("via") or ""
        b = re.search(r";\s*branch=([^;\s,]+)", top)
        key = b.group(1) if b else top
        branch = "z9hG4bK-relay-" + hashlib.sha1(key.encode()).hexdigest()[:16]
        msg.headers.insert(0, ["Via", f"SIP/2.0/UDP {ADDRESS}:{self.port};branch={branch}"])
        to = msg.get("to") or ""
        if method in ("INVITE", "SUBSCRIBE", "REFER") and ";tag=" not in to.replace(" ", ""):
            msg.headers.insert(1, ["Record-Route", f"<sip:{ADDRESS}:{self.port};lr>"])
        return dest

    def rewrite_sdp(self, msg, side):
        ctype = (msg.get("content-type") or "").lower()
        if "application/sdp" not in ctype or not msg.body:
            return
        call_id = msg.get("call-id") or ""
        call = self.calls.setdefault(call_id, Call(call_id))
        leg = call.legs.get(side)
        if leg is None:
            leg = call.legs[side] = Leg(call, side)
            self.sockets[leg.rtp.fileno()] = (leg, "rtp")
            self.sockets[leg.rtcp.fileno()] = (leg, "rtcp")
        lines = msg.body.decode(errors="replace").split("\r\n")
        session_addr = media_addr = None
        in_audio = False
        rtp_port = rtcp_port = None
        out = []
        for line in lines:
            if line.startswith("m="):
                in_audio = line.startswith("m=audio ")
                if in_audio:
                    f = line.split(" ")
                    rtp_port = int(f[1])
                    f[1] = str(leg.port)
                    line = " ".join(f)
                    for pt in f[3:]:
                        if pt.isdigit() and int(pt) in STATIC_RATES:
                            call.rates.setdefault(int(pt), STATIC_RATES[int(pt)])
            elif line.startswith("c="):
                addr = line.split()[-1]
                if in_audio:
                    media_addr = addr
                elif rtp_port is None:
                    session_addr = addr
                line = f"c=IN IP4 {ADDRESS}"
            elif line.startswith("a=rtcp:") and in_audio:
                f = line[len("a=rtcp:"):].split()
                rtcp_port = int(f[0])
                line = f"a=rtcp:{leg.port + 1}" + (f" IN IP4 {ADDRESS}" if len(f) > 1 else "")
            elif line.startswith("a=rtpmap:") and in_audio:
                m = re.match(r"a=rtpmap:(\d+)\s+[^/]+/(\d+)", line)
                if m:
                    call.rates[int(m.group(1))] = int(m.group(2))
            out.append(line)
        if rtp_port is None:
            return
        addr = media_addr or session_addr or ADDRESS
        leg.peer_rtp = (addr, rtp_port)
        leg.peer_rtcp = (addr, rtcp_port or rtp_port + 1)
        msg.body = "\r\n".join(out).encode()
        log(f"call {call_id}: side {side} media at {addr}:{rtp_port}, relayed at {ADDRESS}:{leg.port}")

    # media

    def on_media(self, sock, kind, leg, data):
        """A packet for leg.side (sent to its stand-in by the other side)."""
        if leg.peer_rtp is None:
            return
        other = leg.call.legs.get("A" if leg.side == "B" else "B")
        out_sock = (other.rtp if kind == "rtp" else other.rtcp) if other else sock
        if kind == "rtcp":
            out_sock.sendto(data, leg.peer_rtcp)
            return
        if len(data) < 12 or data[0] >> 6 != 2 or self.frozen:
            return
        d = self.directions["a2b" if leg.side == "B" else "b2a"]
        now = time.monotonic()
        pt = data[1] & 0x7F
        seq = int.from_bytes(data[2:4], "big")
        ts = int.from_bytes(data[4:8], "big")
        rate = leg.call.rates.get(pt)
        d.n_in += 1
        if rate:
            d.j_in.add(now, ts, rate)
        drop, delay = d.decide()
        if drop:
            d.dropped += 1
            return
        d.max_delay = max(d.max_delay, delay)
        self.n += 1
        heapq.heappush(self.queue, (now + delay, self.n, out_sock, data, leg.peer_rtp, d, seq, ts, rate))

    def flush(self):
        now = time.monotonic()
        while self.queue and self.queue[0][0] <= now:
            _, _, sock, data, addr, d, seq, ts, rate = heapq.heappop(self.queue)
            try:
                sock.sendto(data, addr)
            except OSError as e:
                log(f"send to {addr}: {e}")
                continue
            d.on_sent(seq, ts, rate, time.monotonic())

    def stats(self):
        out = {k: d.stats() for k, d in self.directions.items()}
        out["calls"] = list(self.calls)
        return out

    def run(self, control):
        print(f"RELAY_READY sip={self.port}", flush=True)
        buf = b""
        while True:
            timeout = max(0.0, self.queue[0][0] - time.monotonic()) if self.queue else None
            fds = [self.sip, control] + [leg_sock for leg_sock in self._media_sockets()]
            ready, _, _ = select.select(fds, [], [], timeout)
            for s in ready:
                if s is control:
                    chunk = control.read1(4096) if hasattr(control, "read1") else control.read(4096)
                    if not chunk:
                        return
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        cmd = line.decode().strip()
                        if cmd == "stats":
                            print(json.dumps(self.stats()), flush=True)
                        elif cmd == "freeze":
                            self.frozen = True
                            self.freeze_pending = True
                        elif cmd == "quit":
                            return
                    continue
                data, src = s.recvfrom(65536)
                if s is self.sip:
                    self.on_sip(data, src)
                else:
                    leg, kind = self.sockets[s.fileno()]
                    self.on_media(s, kind, leg, data)
            self.flush()
            if self.freeze_pending and not self.queue:
                self.freeze_pending = False
                print("frozen", flush=True)

    def _media_sockets(self):
        for call in self.calls.values():
            for leg in call.legs.values():
                yield leg.rtp
                yield leg.rtcp


def hostport(text):
    host, _, port = text.rpartition(":")
    return (host or ADDRESS, int(port))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", required=True, type=hostport, help="HOST:PORT of the callee's SIP")
    p.add_argument("--sip-port", type=int, default=0, help="our SIP port (default: any free one)")
    p.add_argument("--seed", default="4")
    p.add_argument("--loss", type=float, default=0.05, help="probability of dropping an RTP packet")
    p.add_argument("--delay-ms", type=float, default=0.0, help="fixed delay of every RTP packet")
    p.add_argument("--jitter-ms", type=float, default=40.0, help="plus a uniform random delay below this")
    p.add_argument("--trace", action="store_true", help="log every SIP message, as received and as sent")
    args = p.parse_args()
    relay = Relay(args.target, args.seed, args.loss, args.delay_ms, args.jitter_ms, args.sip_port, args.trace)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        relay.run(sys.stdin.buffer)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
