# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration test harness: real phones (deskphone-session on private
buses) and real peers (Kamailio, SIPp) on 127.0.0.1, Python 3 stdlib only.

A test file is an executable script:

    from deskphone import Tap
    tap = Tap()

    @tap.case("/sip/register/udp")
    def _(t):
        kam = t.kamailio(users={"alice": "secret"})
        phone = t.phone(cfg=kam.account_cfg(1, "alice"), services=["provd", "sipd"])
        phone.wait("account/1", "State", "registered")

    tap.run()

Each case gets a Scope `t`; what it starts through t.phone(), t.kamailio()
(both started at once) and t.sipp() (start() or run() it) is stopped when
the case ends (a phone that does not exit 0 fails the case), and the logs of
everything it started are printed as TAP diagnostics when the case fails.

Output is TAP. `test-x.py NAME...` runs only the cases whose names contain
one of the NAMEs. A case whose peer program is missing is skipped; a script
that calls tap.require() for a missing program skips as a whole (exit 77,
or 0 with --tap, as meson runs it, where the "1..0 # SKIP" plan says it).
Temporary files live in one directory per script, removed at the end unless
DESKPHONE_TEST_KEEP is set. Everything listens on 127.0.0.1 only; phones
wait for states with `phonectl wait` (signals), never by polling.
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 30
STOP_TIMEOUT = 20
KAMAILIO_STOP_TIMEOUT = 10
LOG_TAIL_LINES = 80


def _env_path(name, default=None):
    value = os.environ.get(name)
    return value if value else default


SOURCE_ROOT = _env_path("DESKPHONE_SOURCE_ROOT",
                        os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
BUILD_ROOT = _env_path("DESKPHONE_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))
SESSION = _env_path("DESKPHONE_SESSION", os.path.join(BUILD_ROOT, "tools", "session", "deskphone-session"))
PHONECTL = _env_path("DESKPHONE_PHONECTL", os.path.join(BUILD_ROOT, "tools", "phonectl", "phonectl"))
FAKE_MEDIA1 = _env_path("DESKPHONE_FAKE_MEDIA1", os.path.join(BUILD_ROOT, "tests", "fake-media1", "fake-media1"))
SIPP_DIR = os.path.join(SOURCE_ROOT, "tests", "integration", "sipp")
KAMAILIO_MODULES = ["/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib64/kamailio/modules",
                    "/usr/lib/kamailio/modules", "/usr/local/lib64/kamailio/modules"]


class Skip(Exception):
    """Raised to skip a case (or, before any case ran, the whole script)."""


class TestFailure(AssertionError):
    pass


def expect(cond, message):
    if not cond:
        raise TestFailure(message)


def program(name):
    """Full path of a program, or Skip when it is not installed."""
    for d in (None, "/usr/sbin", "/sbin", "/usr/local/sbin"):
        path = shutil.which(name, path=d) if d else shutil.which(name)
        if path:
            return path
    raise Skip(f"{name} not installed")


def built(name):
    """A build-tree program (services/NAME/NAME); Skip when this build lacks it."""
    path = os.path.join(BUILD_ROOT, "services", name, name)
    if not os.access(path, os.X_OK):
        raise Skip(f"{name} is not built")
    return path


# ---- ports ----

_handed_out = set()


def _bind(kind, port):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind((LOOPBACK, port))
        return s
    except OSError:
        s.close()
        raise


def free_port():
    """A port free on 127.0.0.1 for both UDP and TCP, never the same twice in
    this process. The kernel picks it (bind to port 0), so concurrent tests
    do not collide in practice."""
    for _ in range(200):
        u = _bind(socket.SOCK_DGRAM, 0)
        port = u.getsockname()[1]
        try:
            if port in _handed_out:
                continue
            try:
                _bind(socket.SOCK_STREAM, port).close()
            except OSError:
                continue
            _handed_out.add(port)
            return port
        finally:
            u.close()
    raise RuntimeError("no free port on 127.0.0.1")


def free_port_pair(count=2):
    """An even UDP port P with P+1 .. P+count-1 also free (RTP and RTCP; SIPp's
    media takes 4: audio and video, each with RTCP)."""
    for _ in range(400):
        port = free_port()
        rest = range(port + 1, port + count)
        if port % 2 != 0 or port + count > 65536 or any(p in _handed_out for p in rest):
            continue
        try:
            for p in rest:
                _bind(socket.SOCK_DGRAM, p).close()
        except OSError:
            continue
        _handed_out.update(rest)
        return port
    raise RuntimeError(f"no {count} free ports in a row on 127.0.0.1")


def port_in_use(port, tcp=False):
    try:
        _bind(socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM, port).close()
        return False
    except OSError:
        return True


def wait_until(cond, timeout, what, interval=0.02, proc=None):
    """For readiness of external programs only (a peer binding its port);
    phone state is waited for with `phonectl wait`, never by polling."""
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise TestFailure(f"{what}: the process exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def _read_line(stream, timeout):
    """First line of a child's stdout within timeout, or None."""
    import select
    deadline = time.monotonic() + timeout
    buf = b""
    fd = stream.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 1)
        if not chunk:
            return None
        buf += chunk
    return buf.decode(errors="replace").rstrip("\n")


def _tail(path, lines=LOG_TAIL_LINES):
    try:
        with open(path, errors="replace") as f:
            text = f.read().splitlines()
    except OSError as e:
        return [f"({path}: {e.strerror})"]
    if len(text) > lines:
        return [f"... ({len(text) - lines} lines before)"] + text[-lines:]
    return text


def _descendants(pid):
    """Pids of the children (and theirs) of a process we started, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _stop_process(proc, timeout=STOP_TIMEOUT, sig=signal.SIGTERM):
    """SIGTERM, wait, and after timeout SIGKILL it and whatever it forked.
    Returns the exit status (negative: killed by a signal)."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid in [proc.pid] + _descendants(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
        raise TestFailure(f"pid {proc.pid} did not stop within {timeout} s after {sig.name}; killed")


# ---- Yealink configuration files ----

def cfg_text(keys):
    """A Yealink .cfg file from a dict; values are written as given (str())."""
    lines = ["#!version:1.0.0.1"]
    for k, v in keys.items():
        if isinstance(v, bool):
            v = int(v)
        lines.append(f"{k} = {v}")
    return "\n".join(lines) + "\n"


TRANSPORTS = {"udp": 0, "tcp": 1, "tls": 2}


def account_cfg(n, user, password=None, server=None, port=None, transport="udp", expires=None,
                auth_name=None, extra=None):
    """Yealink keys for account n. extra: more keys of that account, named
    after "account.N.", e.g. {"sip_server.2.address": "127.0.0.1"}."""
    keys = {
        f"account.{n}.enable": 1,
        f"account.{n}.label": user,
        f"account.{n}.display_name": user.capitalize(),
        f"account.{n}.auth_name": auth_name or user,
        f"account.{n}.user_name": user,
    }
    if password is not None:
        keys[f"account.{n}.password"] = password
    if server is not None:
        keys[f"account.{n}.sip_server.1.address"] = server
        keys[f"account.{n}.sip_server.1.port"] = port or 5060
        keys[f"account.{n}.sip_server.1.transport_type"] = TRANSPORTS[transport]
        if expires is not None:
            keys[f"account.{n}.sip_server.1.expires"] = expires
    for k, v in (extra or {}).items():
        keys[f"account.{n}.{k}"] = v
    return keys


# ---- busctl ----

def busctl_dict(d):
    """busctl arguments for an a{sv}: {"ptime": ("u", 20), "codecs": ("as", ["PCMU"])}."""
    args = [str(len(d))]
    for key, (sig, value) in d.items():
        args += [key, sig]
        if sig.startswith("a") and sig[1:] in "sunqbtiyxo":
            args += [str(len(value))] + [str(v) for v in value]
        else:
            args.append(str(value))
    return args


# ---- resources ----

class Resource:
    """Something a case starts: has a name, logs to show on failure, stop()."""
    name = "resource"

    def logs(self):
        return []

    def stop(self):
        pass


class Phone(Resource):
    """A deskphone-session with a generated configuration on its own private
    bus, state directory and SIP port."""

    def __init__(self, workdir, cfg=None, services=None, name="phone", fake_media=False, env=None):
        self.name = name
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.sip_port = int((cfg or {}).get("sip.listen_port", 0)) or free_port()
        self.cfg = {"sip.listen_port": self.sip_port, "deskphone.sip.listen_address": "127.0.0.1"}
        self.cfg.update(cfg or {})
        self.cfg_path = os.path.join(self.dir, "phone.cfg")
        with open(self.cfg_path, "w") as f:
            f.write(cfg_text(self.cfg))
        self.services = list(services) if services else None
        self.log_path = os.path.join(self.dir, "session.log")
        self.fake = None
        self.proc = None
        self.bus = None
        self._env = dict(os.environ, **(env or {}))
        self._fake_media = fake_media

    @property
    def uri(self):
        """Where this phone is called directly (no registrar)."""
        return f"sip:{self.name}@{LOOPBACK}:{self.sip_port}"

    def start(self):
        """Start the session (and fake-media1 if asked for); returns self."""
        self._start_session()
        if self._fake_media:
            self.start_fake_media()
        return self

    def _start_session(self):
        args = [SESSION, "--no-publish", "--state-dir", os.path.join(self.dir, "state"), "--config", self.cfg_path]
        if self.services:
            args += ["--services", ",".join(self.services)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                         env=self._env)
        line = _read_line(self.proc.stdout, START_TIMEOUT)
        if not line or not line.startswith("DESKPHONE_BUS="):
            rc = _stop_process(self.proc) if self.proc.poll() is None else self.proc.returncode
            raise TestFailure(f"{self.name}: deskphone-session did not start (first line {line!r}, exit {rc})")
        self.bus = line.split("=", 1)[1]

    def logs(self):
        out = [(f"{self.name} session", self.log_path)]
        fake_log = os.path.join(self.dir, "fake-media1.log")
        if os.path.exists(fake_log):
            out.append((f"{self.name} fake-media1", fake_log))
        return out

    # phonectl

    def ctl(self, *args, timeout=60, input=None):
        """Run phonectl --bus ADDRESS ARGS; returns (rc, stdout, stderr)."""
        p = subprocess.run([PHONECTL, "--bus", self.bus, *[str(a) for a in args]], capture_output=True, text=True,
                           input=input, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def ctl_ok(self, *args, timeout=60, input=None):
        rc, out, err = self.ctl(*args, timeout=timeout, input=input)
        if rc != 0:
            raise TestFailure(f"{self.name}: phonectl {' '.join(map(str, args))} exited {rc}:\n{out}{err}")
        return out

    def wait(self, obj, prop, value, timeout=30):
        """phonectl wait: the property reaches the value (signals, no polling)."""
        rc, out, err = self.ctl("--timeout", str(timeout), "wait", obj, prop, str(value), timeout=timeout + 15)
        if rc != 0:
            _, status, _ = self.ctl("status")
            raise TestFailure(f"{self.name}: {obj} {prop} did not become {value!r} (phonectl exit {rc}): "
                              f"{(out + err).strip()}\n--- phonectl status:\n{status}")

    def status(self):
        return json.loads(self.ctl_ok("--json", "status"))

    def dial_answered(self, callee, incoming="call/1", account=1):
        """Dial callee directly, callee answers its call `incoming`; returns this
        phone's call ("call/N") once both sides are active."""
        path = self.ctl_ok("dial", callee.uri, "--account", str(account)).strip()
        expect(path.startswith("/org/deskphone/Sip1/call/"), f"dial printed {path!r}")
        call = "call/" + path.rsplit("/", 1)[1]
        callee.wait(incoming, "State", "incoming")
        callee.ctl_ok("answer", incoming)
        self.wait(call, "State", "active")
        callee.wait(incoming, "State", "active")
        return call

    OBJECT_PREFIXES = {"account/": "/org/deskphone/Sip1/account/", "call/": "/org/deskphone/Sip1/call/",
                       "stream/": "/org/deskphone/Media1/stream/"}

    @classmethod
    def object_path(cls, obj):
        """account/N, call/N, stream/N or a path -> the path."""
        for short, long in cls.OBJECT_PREFIXES.items():
            if obj.startswith(short):
                return long + obj[len(short):]
        return obj

    def objects(self, prefix=""):
        """{path: {property: value}} of every object under prefix (e.g. "call/"),
        interfaces merged, from one `phonectl --json status`."""
        prefix = self.object_path(prefix)
        out = {}
        for service in self.status()["services"].values():
            for path, ifaces in service.get("objects", {}).items():
                if path.startswith(prefix):
                    out[path] = {k: v for props in ifaces.values() for k, v in props.items()}
        return out

    def properties(self, obj):
        """The properties of one object (account/1, call/2, a path)."""
        path = self.object_path(obj)
        objs = self.objects(path)
        expect(path in objs, f"{self.name}: no object {path}; have {sorted(objs)}")
        return objs[path]

    def get(self, key):
        return self.ctl_ok("config", "get", key).rstrip("\n")

    def set(self, keys=None, **kw):
        """set({"account.1.enable": 1}) or set(**{...})."""
        items = dict(keys or {}, **kw)
        self.ctl_ok("config", "set", *[f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in items.items()])

    def prop(self, obj_path, iface, name, dest):
        """A property through busctl (for members phonectl does not show)."""
        return self.busctl_json("get-property", dest, obj_path, iface, name)["data"]

    def busctl(self, *args, timeout=30):
        p = subprocess.run([program("busctl"), f"--address={self.bus}", *[str(a) for a in args]],
                           capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def busctl_json(self, *args, timeout=30):
        rc, out, err = self.busctl("--json=short", *args, timeout=timeout)
        if rc != 0:
            raise TestFailure(f"{self.name}: busctl {' '.join(map(str, args))} exited {rc}: {err.strip()}")
        return json.loads(out) if out.strip() else {}

    def call(self, dest, path, iface, method, sig="", *args, timeout=30):
        """A method call through busctl; returns the reply's data list."""
        call_args = ["call", dest, path, iface, method] + ([sig, *args] if sig else [])
        return self.busctl_json(*call_args, timeout=timeout).get("data", [])

    # fake mediad

    def start_fake_media(self, faults=None):
        expect(self.fake is None, "fake-media1 already running")
        self.fake = FakeMedia(self, faults)
        return self.fake

    def stop(self):
        """SIGTERM; the session must exit 0 within the timeout."""
        if self.fake:
            self.fake.stop()
        if self.bus is None:
            return
        rc = _stop_process(self.proc)
        self.proc.stdout.close()
        self.bus = None
        if rc != 0:
            raise TestFailure(f"{self.name}: deskphone-session exited with status {rc}")


class FakeMedia(Resource):
    """tests/fake-media1 on a phone's bus, in place of mediad."""
    DEST = "org.deskphone.Media1"
    PATH = "/org/deskphone/Media1"
    IFACE = "org.deskphone.Media1"
    STREAM_IFACE = "org.deskphone.Media1.Stream"

    def __init__(self, phone, faults=None):
        if not os.access(FAKE_MEDIA1, os.X_OK):
            raise Skip(f"{FAKE_MEDIA1} is not built")
        self.phone = phone
        self.name = f"{phone.name} fake-media1"
        self.log_path = os.path.join(phone.dir, "fake-media1.log")
        env = dict(os.environ, DESKPHONE_BUS=phone.bus)
        if faults:
            env["FAKE_MEDIA1_FAULTS"] = ",".join(f"{k}={int(v)}" for k, v in faults.items())
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([FAKE_MEDIA1], stdout=subprocess.PIPE, stderr=log,
                                         stdin=subprocess.DEVNULL, env=env)
        line = _read_line(self.proc.stdout, START_TIMEOUT)
        if line != "FAKE_MEDIA1_READY":
            _stop_process(self.proc)
            raise TestFailure(f"fake-media1 did not start on {phone.name}'s bus")

    def logs(self):
        return [(self.name, self.log_path)]

    def call(self, method, sig="", *args, path=None, iface=None):
        return self.phone.call(self.DEST, path or self.PATH, iface or self.IFACE, method, sig, *args)

    def log(self):
        """Every call the fake got, as lines: 'CreateStream codecs=G722,PCMU',
        'Start stream/1 address=127.0.0.1 port=4000 codec=PCMU', 'Stop stream/1'."""
        return self.call("FakeGetLog")[0]

    def clear_log(self):
        self.call("FakeClearLog")

    def set_fault(self, name, value=1):
        """create-fails, start-fails, no-audio-codec (0/1), slow-create (ms), none."""
        self.call("FakeSetFault", "su", name, int(value))

    def create_stream(self, **options):
        """CreateStream with options given as (signature, value) pairs; returns (path, local dict)."""
        path, local = self.call("CreateStream", "a{sv}", *busctl_dict(options))
        return path, {k: v["data"] for k, v in local.items()}

    def stream_prop(self, path, name):
        return self.phone.prop(path, self.STREAM_IFACE, name, self.DEST)

    def stop(self):
        """SIGTERM; it must exit 0 (a crash before is a failure too)."""
        self.phone.fake = None
        rc = _stop_process(self.proc)
        self.proc.stdout.close()
        if rc != 0:
            raise TestFailure(f"fake-media1 on {self.phone.name} exited with status {rc}")


class Kamailio(Resource):
    """Kamailio on 127.0.0.1 (UDP and TCP on one port) as registrar and proxy,
    no database: users from a dict, digest auth, usrloc in memory."""

    def __init__(self, workdir, users=None, name="kamailio", invite_auth=True, port=None, min_expires=1,
                 max_expires=3600, refuse_with=403, tls=None):
        """invite_auth: challenge INVITEs (407); max_expires: the longest
        registration granted (a short one makes phones refresh soon);
        refuse_with: 403 for a wrong password, or 401 to challenge again;
        tls: also listen for SIP over TLS (Kamailio's tls module, OpenSSL) on
        self.tls_port, with a dict: {"cert": PEM, "key": PEM, "ca": PEM of CAs
        for client certificates (optional), "require_client_cert": bool,
        "sni": [(server_name, cert, key), ...] (other certificates, chosen by
        the name the client sends), "method": Kamailio's TLS versions
        ("TLSv1.2+" by default, "TLSv1.2" for exactly 1.2)}."""
        self.binary = program("kamailio")
        self.name = name
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        # unix socket paths are short (104 bytes for Kamailio's ctl): not below workdir
        self.rundir = tempfile.mkdtemp(prefix="kam-")
        if not os.environ.get("DESKPHONE_TEST_KEEP"):
            atexit.register(shutil.rmtree, self.rundir, True)
        self.users = dict(users or {})
        self.invite_auth = invite_auth
        self.min_expires = min_expires
        self.max_expires = max_expires
        expect(refuse_with in (401, 403), "refuse_with is 401 or 403")
        self.refuse_with = refuse_with
        self.port = port or free_port()
        self.tls = dict(tls) if tls else None
        self.tls_port = free_port() if tls else None
        self.tls_cfg_path = os.path.join(self.dir, "tls.cfg")
        self.cfg_path = os.path.join(self.dir, "kamailio.cfg")
        self.log_path = os.path.join(self.dir, "kamailio.log")
        self.ctl_socket = os.path.join(self.rundir, "ctl.sock")
        self.pid_path = os.path.join(self.rundir, "kamailio.pid")
        self.proc = None
        if self.tls:
            with open(self.tls_cfg_path, "w") as f:
                f.write(self.tls_config())
        with open(self.cfg_path, "w") as f:
            f.write(self.config())
        self.check()

    @staticmethod
    def module_path():
        for d in KAMAILIO_MODULES:
            if os.path.exists(os.path.join(d, "registrar.so")):
                return d
        raise Skip("Kamailio modules not found in " + ", ".join(KAMAILIO_MODULES))

    def _password_switch(self):
        cases = []
        for user, password in self.users.items():
            for s in (user, password):
                if not re.fullmatch(r"[A-Za-z0-9._~!$&'()*+,;=:@%-]*", s):
                    raise ValueError(f"user or password {s!r} has characters the generated config cannot quote")
            cases.append(f'\tcase "{user}":\n\t\t$var(password) = "{password}";\n\t\tbreak;')
        return "\n".join(cases)

    def config(self):
        with open(os.path.join(SOURCE_ROOT, "tests", "integration", "lib", "kamailio.cfg.in")) as f:
            template = f.read()
        values = {
            "PORT": str(self.port),
            "ADDRESS": LOOPBACK,
            "MPATH": self.module_path(),
            "CTL_SOCKET": self.ctl_socket,
            "MIN_EXPIRES": str(self.min_expires),
            "MAX_EXPIRES": str(self.max_expires),
            "DEFINES": "\n".join(d for d in ("#!define WITH_INVITE_AUTH" if self.invite_auth else "",
                                               "#!define WITH_REFUSE_401" if self.refuse_with == 401 else "",
                                               "#!define WITH_TLS" if self.tls else "") if d),
            "PASSWORDS": self._password_switch(),
            "TLS_PORT": str(self.tls_port or 0),
            "TLS_CONFIG": self.tls_cfg_path,
        }
        return re.sub(r"@([A-Z_]+)@", lambda m: values[m.group(1)], template)

    def tls_config(self):
        """The tls module's domains: the default server certificate, one per SNI name."""
        t = self.tls
        require = "yes" if t.get("require_client_cert") else "no"
        common = [f"require_certificate = {require}", f"verify_certificate = {require}"]
        if t.get("ca"):
            common.append(f"ca_list = {t['ca']}")
        method = t.get("method", "TLSv1.2+")
        out = ["[server:default]", f"method = {method}", f"certificate = {t['cert']}",
               f"private_key = {t['key']}"] + common + [""]
        for server_name, cert, key in t.get("sni", []):
            out += [f"[server:{LOOPBACK}:{self.tls_port}]", f"method = {method}", f"server_name = {server_name}",
                    f"certificate = {cert}", f"private_key = {key}"] + common + [""]
        out += ["[client:default]", "verify_certificate = no", "require_certificate = no", ""]
        return "\n".join(out)

    def check(self):
        p = subprocess.run([self.binary, "-c", "-f", self.cfg_path], capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise TestFailure(f"kamailio -c rejects {self.cfg_path}:\n{p.stdout}{p.stderr}")

    def start(self):
        expect(self.proc is None or self.proc.poll() is not None, "kamailio already running")
        # --atexit=no: OpenSSL's exit handlers, run by the tls module's processes,
        # can crash or hang kamailio's shutdown (kamailio issues 2560, 2912, 3764)
        args = [self.binary, "-f", self.cfg_path, "-DD", "-E", "-Y", self.rundir, "-P", self.pid_path,
                "-w", self.dir, "-m", "32", "--atexit=no"]
        with open(self.log_path, "ab") as log:
            log.write(f"==== starting {' '.join(args)}\n".encode())
            log.flush()
            # kamailio forks workers; its main process stops them on SIGTERM
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        wait_until(self._answers_options, START_TIMEOUT, f"{self.name} to answer OPTIONS on port {self.port}",
                   proc=self.proc)
        wait_until(lambda: port_in_use(self.port, tcp=True), START_TIMEOUT, f"{self.name} to listen on TCP",
                   proc=self.proc)
        if self.tls_port:
            wait_until(lambda: port_in_use(self.tls_port, tcp=True), START_TIMEOUT,
                       f"{self.name} to listen on TLS", proc=self.proc)

    def _answers_options(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((LOOPBACK, 0))
            s.settimeout(0.2)
            lport = s.getsockname()[1]
            msg = (f"OPTIONS sip:{LOOPBACK}:{self.port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {LOOPBACK}:{lport};branch=z9hG4bK-probe-{time.monotonic_ns()}\r\n"
                   f"From: <sip:probe@{LOOPBACK}>;tag=probe\r\nTo: <sip:{LOOPBACK}:{self.port}>\r\n"
                   f"Call-ID: probe-{time.monotonic_ns()}@{LOOPBACK}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                   "Content-Length: 0\r\n\r\n")
            s.sendto(msg.encode(), (LOOPBACK, self.port))
            data = s.recv(4096)
            return data.startswith(b"SIP/2.0 200")
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        with open(self.log_path, "ab") as log:
            log.write(b"==== stopping\n")
        try:
            rc = _stop_process(self.proc, timeout=KAMAILIO_STOP_TIMEOUT)
        except TestFailure as e:
            # Kamailio's shutdown is not under test: a peer that hangs in it is
            # killed (its ports are free then) and the case goes on
            with open(self.log_path, "ab") as log:
                log.write(f"==== {e}\n".encode())
            print(f"# {self.name}: {e}", file=sys.stderr)
            return
        if rc not in (0, -signal.SIGTERM):
            raise TestFailure(f"{self.name} exited with status {rc}")

    def restart(self):
        """Stop and start again on the same ports (registrations are lost: usrloc is in memory)."""
        self.stop()
        self.start()

    def logs(self):
        return [(self.name, self.log_path)]

    def account_cfg(self, n, user, password=None, transport="udp", expires=None, extra=None):
        """Yealink keys for account n registering as user to this Kamailio."""
        if password is None:
            password = self.users[user]
        port = self.tls_port if transport == "tls" else self.port
        return account_cfg(n, user, password, server=LOOPBACK, port=port, transport=transport,
                           expires=expires, extra=extra)

    def uri(self, user):
        return f"sip:{user}@{LOOPBACK}:{self.port}"

    def bindings(self, user):
        """The contacts Kamailio has for user, each a dict of kamcmd ul.lookup's
        fields: {"Address": "sip:alice@127.0.0.1:5062", "Socket": "udp:127.0.0.1:5060",
        "Expires": "60", "User-Agent": ...}."""
        kamcmd = program("kamcmd")
        p = subprocess.run([kamcmd, "-s", f"unix:{self.ctl_socket}", "ul.lookup", "location", user],
                           capture_output=True, text=True, timeout=10)
        out, current = [], None
        for line in p.stdout.splitlines():
            line = line.strip()
            if line.startswith("Contact:"):
                current = {}
                out.append(current)
            elif current is not None and ": " in line:
                key, value = line.split(": ", 1)
                current.setdefault(key, value)
        return out

    def contacts(self, user):
        """The contact addresses Kamailio has for user."""
        return [b["Address"] for b in self.bindings(user) if "Address" in b]


class Sipp(Resource):
    """A SIPp scenario from tests/integration/sipp on 127.0.0.1, one call
    (-m 1). start() runs it in the background, wait() returns its exit status
    (0: the call went as the scenario says), run() does both."""
    DEFAULT_KEYS = {
        "codec_pt": "0",           # the payload type a UAS answers with
        "codec_rtpmap": "PCMU/8000",
        "user_agent": "SIPp deskphone-tests",
    }

    def __init__(self, workdir, scenario, remote=None, transport="udp", service="service", auth=None,
                 keys=None, port=None, timeout=30, pause_ms=1000, name=None, extra=()):
        self.binary = program("sipp")
        self.scenario = scenario if os.path.isabs(scenario) else os.path.join(SIPP_DIR, scenario)
        if not self.scenario.endswith(".xml"):
            self.scenario += ".xml"
        self.name = name or "sipp " + os.path.basename(self.scenario)
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.media_port = free_port_pair(4)  # audio RTP/RTCP, then video RTP/RTCP
        self.transport = transport
        self.timeout = timeout
        self.error_log = os.path.join(self.dir, "errors.log")
        self.message_log = os.path.join(self.dir, "messages.log")
        self.stdout_log = os.path.join(self.dir, "stdout.log")
        args = [self.binary, "-sf", self.scenario, "-i", LOOPBACK, "-p", str(self.port), "-mi", LOOPBACK,
                "-mp", str(self.media_port), "-t", {"udp": "u1", "tcp": "t1"}[transport], "-m", "1",
                "-timeout", f"{timeout}s", "-timeout_error", "-nostdin", "-d", str(pause_ms),
                "-trace_err", "-error_file", self.error_log, "-trace_msg", "-message_file", self.message_log,
                "-s", service]
        if auth:
            args += ["-au", auth[0], "-ap", auth[1]]
        for k, v in dict(self.DEFAULT_KEYS, **(keys or {})).items():
            args += ["-key", k, str(v)]
        args += list(extra)
        if remote:
            args.append(remote)
        self.args = args
        self.proc = None

    @property
    def uri(self):
        """Where a UAS scenario is called."""
        return f"sip:service@{LOOPBACK}:{self.port}" + (";transport=tcp" if self.transport == "tcp" else "")

    def _media_taken(self):
        """Did SIPp exit because one of its media ports was taken (by an outgoing
        connection's ephemeral port, say) between free_port_pair() and its bind?"""
        try:
            with open(self.error_log, errors="replace") as f:
                return "RTP socket" in f.read() and self.proc.returncode not in (None, 0, 1)
        except OSError:
            return False

    def start(self):
        for attempt in range(3):
            with open(self.stdout_log, "ab") as out:
                self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, cwd=self.dir)
            try:
                # a UAS must listen before anyone calls it
                wait_until(lambda: port_in_use(self.port, tcp=self.transport == "tcp"), 10,
                           f"{self.name} to listen on {self.port}", proc=self.proc)
                return self
            except TestFailure:
                if attempt == 2 or not self._media_taken():
                    raise
            # nothing was sent: the same scenario on other media ports
            self.media_port = free_port_pair(4)
            self.args[self.args.index("-mp") + 1] = str(self.media_port)
            os.replace(self.error_log, self.error_log + f".{attempt}")
        return self

    def wait(self, timeout=None):
        """Exit status of SIPp: 0 the call succeeded, 1 it failed, others: SIPp errors."""
        try:
            return self.proc.wait(timeout=timeout if timeout is not None else self.timeout + 15)
        except subprocess.TimeoutExpired:
            _stop_process(self.proc, timeout=5)
            raise TestFailure(f"{self.name} did not finish")

    def run(self):
        self.start()
        return self.wait()

    def expect_success(self, timeout=None):
        rc = self.wait(timeout)
        if rc != 0:
            raise TestFailure(f"{self.name} exited {rc}; errors:\n" + "\n".join(_tail(self.error_log, 40)))

    def messages(self):
        try:
            with open(self.message_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def logs(self):
        return [(f"{self.name} errors", self.error_log), (f"{self.name} messages", self.message_log)]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            _stop_process(self.proc, timeout=5)


# ---- cases and TAP ----

class Scope:
    """What one case started; stopped in reverse order when the case ends."""

    def __init__(self, tap, name):
        self.tap = tap
        self.name = name
        self.resources = []
        self._counts = {}

    def _dir(self, kind):
        self._counts[kind] = self._counts.get(kind, 0) + 1
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.name).strip("-") or "case"
        return os.path.join(self.tap.dir, slug, f"{kind}-{self._counts[kind]}")

    def add(self, resource):
        self.resources.append(resource)
        return resource

    def phone(self, cfg=None, services=None, name=None, fake_media=False, env=None):
        d = self._dir("phone")
        phone = self.add(Phone(d, cfg=cfg, services=services, name=name or os.path.basename(d),
                               fake_media=fake_media, env=env))
        return phone.start()

    def kamailio(self, users=None, **kw):
        """Kamailio, started (its log is shown on failure even if it does not start)."""
        kam = self.add(Kamailio(self._dir("kamailio"), users=users, **kw))
        kam.start()
        return kam

    def sipp(self, scenario, **kw):
        """SIPp, not started yet: .start() (background) or .run()."""
        return self.add(Sipp(self._dir("sipp"), scenario, **kw))

    def require(self, *programs):
        for p in programs:
            program(p)

    def close(self):
        errors = []
        for r in reversed(self.resources):
            try:
                r.stop()
            except Exception as e:  # keep stopping the others
                errors.append(f"stopping {r.name}: {e}")
        return errors

    def logs(self):
        out = []
        for r in self.resources:
            out += r.logs()
        return out


class Tap:
    """Runs the cases of one script and prints TAP."""

    def __init__(self):
        self.cases = []
        self.keep = bool(os.environ.get("DESKPHONE_TEST_KEEP"))
        self.tap_mode = "--tap" in sys.argv[1:]
        self.filters = [a for a in sys.argv[1:] if not a.startswith("--")]
        prefix = "deskphone-" + os.path.splitext(os.path.basename(sys.argv[0]))[0] + "-"
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.shared = Scope(self, "shared")

    def case(self, name):
        def register(fn):
            self.cases.append((name, fn))
            return fn
        return register

    def require(self, *programs):
        """Skip the whole script when a peer program is missing."""
        try:
            for p in programs:
                program(p)
        except Skip as e:
            self.skip_all(str(e))

    def skip_all(self, reason):
        print(f"1..0 # SKIP {reason}")
        sys.stdout.flush()
        self._cleanup()
        # under meson's TAP protocol a skip is the plan above with status 0;
        # run by hand, 77 is the autotools convention
        sys.exit(0 if self.tap_mode else 77)

    def _diag(self, text):
        for line in str(text).splitlines():
            print("# " + line)

    def _show_logs(self, scope):
        for title, path in scope.logs() + (self.shared.logs() if scope is not self.shared else []):
            self._diag(f"---- {title}: {path}")
            self._diag("\n".join(_tail(path)))

    def _run_case(self, number, name, fn):
        scope = Scope(self, name)
        failure, skipped = None, None
        try:
            fn(scope)
        except Skip as e:
            skipped = str(e)
        except Exception:
            failure = traceback.format_exc()
        except BaseException:  # interrupted: stop what the case started, then go
            scope.close()
            raise
        errors = scope.close()
        if errors and not failure and not skipped:
            failure = "\n".join(errors)
        if skipped:
            print(f"ok {number} - {name} # SKIP {skipped}")
        elif failure:
            print(f"not ok {number} - {name}")
            self._diag(failure)
            # meson prints a failed test's stderr (CI shows no more): the case and why, in short
            print(f"not ok {number} - {name}: {failure.strip().splitlines()[-1][:2000]}", file=sys.stderr)
            sys.stderr.flush()
            for e in errors:
                self._diag(e)
            self._show_logs(scope)
        else:
            print(f"ok {number} - {name}")
        sys.stdout.flush()
        return failure is None

    @staticmethod
    def _on_sigterm(signum, frame):
        # meson's timeout: unwind, so that every peer and phone gets stopped
        raise KeyboardInterrupt(f"signal {signum}")

    def run(self):
        signal.signal(signal.SIGTERM, self._on_sigterm)
        cases = [(n, f) for n, f in self.cases if not self.filters or any(x in n for x in self.filters)]
        print(f"1..{len(cases)}")
        sys.stdout.flush()
        ok = True
        try:
            for i, (name, fn) in enumerate(cases, 1):
                ok = self._run_case(i, name, fn) and ok
        except KeyboardInterrupt as e:
            print(f"Bail out! interrupted ({e})")
            ok = False
        finally:
            errors = self.shared.close()
            for e in errors:
                self._diag(e)
            ok = ok and not errors
            self._cleanup()
        sys.exit(0 if ok else 1)

    def _cleanup(self):
        if self.keep:
            self._diag(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
