# SPDX-License-Identifier: LGPL-2.1-or-later
"""Provisioning servers for the integration tests, on 127.0.0.1 only:
lighttpd (Debian's, HTTP or HTTPS through mod_openssl, digest auth through
mod_auth) serving a directory, a throwaway CA made with certtool, a small
Python HTTP server whose answers a test scripts (stall mid-body, 503 with
Retry-After), and helpers to encrypt files with deskphone-cfgcrypt.

    ca = ThrowawayCa(tap.dir)
    srv = t.add(Lighttpd(workdir, tls=ca.server_cert("127.0.0.1"))).start()
    srv.put("y000000000000.cfg", cfg_text({...}))
    phone = provisioning_phone(t, {"static.auto_provision.server.url": srv.url}, ca=ca)
    phone.ctl_ok("provision", "--wait")
"""
import email.parser
import email.policy
import hashlib
import http.server
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading

from deskphone import (BUILD_ROOT, LOOPBACK, START_TIMEOUT, Phone, Resource, Skip, TestFailure, _stop_process,
                       expect, free_port, port_in_use, program, wait_until)

CFGCRYPT = os.environ.get("DESKPHONE_CFGCRYPT") or os.path.join(BUILD_ROOT, "tools", "cfgcrypt", "deskphone-cfgcrypt")
TEST_MAC = "00155d000001"


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)
    if p.returncode != 0:
        raise TestFailure(f"{' '.join(map(str, args))} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return p.stdout


# ---- certificates ----

class ThrowawayCa:
    """A CA made with certtool in dir, and server certificates it signs."""

    def __init__(self, directory, name="ca"):
        self.certtool = program("certtool")
        self.dir = os.path.join(directory, name)
        os.makedirs(self.dir, exist_ok=True)
        self.key = os.path.join(self.dir, "ca.key")
        self.cert = os.path.join(self.dir, "ca.pem")
        self._n = 0
        self._keygen(self.key)
        self._template("ca.tmpl", 'cn = "deskphone throwaway test CA"\nca\ncert_signing_key\nexpiration_days = 7\n')
        run([self.certtool, "--generate-self-signed", "--no-text", "--load-privkey", self.key,
             "--template", os.path.join(self.dir, "ca.tmpl"), "--outfile", self.cert])

    def _keygen(self, path):
        run([self.certtool, "--generate-privkey", "--no-text", "--key-type=ecdsa", "--outfile", path])

    def _template(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def server_cert(self, host="127.0.0.1", usage="tls_www_server"):
        """(certificate, key) for host: an IP address gets an iPAddress SAN, a name a dNSName.
        usage="tls_www_client" makes a client (device) certificate."""
        self._n += 1
        key = os.path.join(self.dir, f"server{self._n}.key")
        cert = os.path.join(self.dir, f"server{self._n}.pem")
        san = f'ip_address = "{host}"' if host.replace(".", "").isdigit() else f'dns_name = "{host}"'
        tmpl = f"server{self._n}.tmpl"
        self._template(tmpl, f'cn = "{host}"\n{san}\n{usage}\nsigning_key\nencryption_key\n'
                             "expiration_days = 7\n")
        self._keygen(key)
        run([self.certtool, "--generate-certificate", "--no-text", "--load-privkey", key, "--load-ca-certificate",
             self.cert, "--load-ca-privkey", self.key, "--template", os.path.join(self.dir, tmpl),
             "--outfile", cert])
        return cert, key


# ---- lighttpd ----

class Lighttpd(Resource):
    """lighttpd serving workdir/www on a free port; HTTPS with tls=(cert, key);
    digest authentication with users={name: password}."""

    def __init__(self, workdir, tls=None, users=None, client_ca=None, name="lighttpd"):
        self.binary = program("lighttpd")
        self.name = name
        self.dir = workdir
        self.www = os.path.join(workdir, "www")
        os.makedirs(self.www, exist_ok=True)
        self.port = free_port()
        self.tls = tls
        self.users = users or {}
        self.client_ca = client_ca
        self.cfg_path = os.path.join(workdir, "lighttpd.conf")
        self.error_log = os.path.join(workdir, "error.log")
        self.access_log = os.path.join(workdir, "access.log")
        self.log_path = os.path.join(workdir, "stderr.log")
        self.proc = None
        with open(self.cfg_path, "w") as f:
            f.write(self.config())

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://{LOOPBACK}:{self.port}/"

    def config(self):
        modules = ["mod_accesslog"]
        lines = [
            f'server.document-root = "{self.www}"',
            f'server.bind = "{LOOPBACK}"',
            f"server.port = {self.port}",
            f'server.errorlog = "{self.error_log}"',
            f'accesslog.filename = "{self.access_log}"',
            'mimetype.assign = (".cfg" => "text/plain", ".boot" => "text/plain", "" => "application/octet-stream")',
            'server.tag = "lighttpd"',
            # no one-second stat cache: a file a test rewrites gets a new ETag at once
            'server.stat-cache-engine = "disable"',
        ]
        if self.tls:
            modules.insert(0, "mod_openssl")
            cert, key = self.tls
            lines += ['ssl.engine = "enable"', f'ssl.pemfile = "{cert}"', f'ssl.privkey = "{key}"']
            if self.client_ca:  # mutual TLS: a client certificate from this CA is required
                lines += [f'ssl.verifyclient.ca-file = "{self.client_ca}"', 'ssl.verifyclient.activate = "enable"',
                          'ssl.verifyclient.enforce = "enable"']
        if self.users:
            modules += ["mod_auth", "mod_authn_file"]
            userfile = os.path.join(self.dir, "htdigest")
            with open(userfile, "w") as f:
                for u, p in self.users.items():
                    ha1 = hashlib.md5(f"{u}:prov:{p}".encode()).hexdigest()
                    f.write(f"{u}:prov:{ha1}\n")
            lines += ['auth.backend = "htdigest"', f'auth.backend.htdigest.userfile = "{userfile}"',
                      'auth.require = ( "/" => ( "method" => "digest", "realm" => "prov", '
                      '"require" => "valid-user" ) )']
        return "server.modules = (" + ", ".join(f'"{m}"' for m in modules) + ")\n" + "\n".join(lines) + "\n"

    def start(self):
        check = subprocess.run([self.binary, "-tt", "-f", self.cfg_path], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            if "mod_openssl" in check.stderr + check.stdout:
                raise Skip("lighttpd has no TLS module (apt-get install lighttpd-mod-openssl)")
            raise TestFailure(f"lighttpd rejects {self.cfg_path}:\n{check.stdout}{check.stderr}")
        # The port was free when free_port() chose it, but an outgoing connection (of
        # any test) may take it as its ephemeral port before lighttpd binds: then
        # another port, a few times.
        for attempt in range(4):
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen([self.binary, "-D", "-f", self.cfg_path], stdout=log, stderr=log,
                                             stdin=subprocess.DEVNULL)
            try:
                wait_until(lambda: port_in_use(self.port, tcp=True), START_TIMEOUT, f"{self.name} to listen",
                           proc=self.proc)
                return self
            except TestFailure:
                self.proc.wait(5)
                taken = False
                for path in (self.error_log, self.log_path):  # where lighttpd says it depends on when
                    if os.path.exists(path):
                        with open(path, errors="replace") as f:
                            taken = taken or "Address already in use" in f.read()
                if not taken or attempt == 3:
                    raise
            self.port = free_port()
            with open(self.cfg_path, "w") as f:
                f.write(self.config())
        return self

    def put(self, name, data):
        """Serve data (str or bytes) as name (may contain '/')."""
        path = os.path.join(self.www, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return path

    def remove(self, name):
        os.unlink(os.path.join(self.www, name))

    def access(self, count=0):
        """The requests as (path, status, User-Agent), from the access log, once
        it holds at least count of them (lighttpd writes it in batches)."""
        if count:
            wait_until(lambda: len(self._read_access()) >= count, 10, f"{count} requests in {self.access_log}")
        return self._read_access()

    def _read_access(self):
        try:
            with open(self.access_log, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            m = re.search(r'"[A-Z]+ (\S+) [^"]*" (\d+) .*"([^"]*)"$', line)
            if m:
                out.append((m.group(1), int(m.group(2)), m.group(3)))
        return out

    def statuses(self, path, count=0):
        """The statuses of the requests for path, in order (count: as access())."""
        return [status for p, status, _ in self.access(count) if p == path]

    def logs(self):
        return [(f"{self.name} error log", self.error_log), (f"{self.name} access log", self.access_log),
                (f"{self.name} stderr", self.log_path)]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            _stop_process(self.proc, timeout=10)


# ---- a scripted Python server ----

class Answer:
    """What the scripted server sends for a request: status, headers, body;
    stall=True sends the headers (with the full Content-Length) and half the
    body, then hangs until the server stops; hold=Hold() does the same until
    hold.release(), then sends the rest."""

    def __init__(self, body=b"", status=200, headers=None, stall=False, hold=None):
        self.body = body.encode() if isinstance(body, str) else body
        self.status = status
        self.headers = headers or {}
        self.stall = stall
        self.hold = hold


class Hold:
    """An answer held mid-body: wait_reached() returns once a request got that
    far (the client is in the middle of the download), release() lets it end."""

    def __init__(self):
        self.reached = threading.Event()
        self.released = threading.Event()

    def wait_reached(self, timeout=30):
        if not self.reached.wait(timeout):
            raise TestFailure(f"no request reached the held answer within {timeout} s")

    def release(self):
        self.released.set()


class ScriptedHttp(Resource):
    """An HTTP server in this process; route(path, Answer...) gives successive
    answers (the last one repeats); anything else is 404. requests lists
    (path, headers) of every request. PUT and POST are accepted (answered
    upload_status) and kept in uploads as Upload; with serve_uploads a GET of
    that path then returns what was uploaded."""

    def __init__(self, name="scripted-http", serve_uploads=True, upload_status=201):
        self.name = name
        self.routes = {}
        self.requests = []
        self.uploads = []
        self.serve_uploads = serve_uploads
        self.upload_status = upload_status
        self.upload_event = threading.Condition()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with outer.lock:
                    outer.requests.append((self.path, dict(self.headers)))
                    answers = outer.routes.get(self.path)
                    answer = (answers.pop(0) if len(answers) > 1 else answers[0]) if answers else Answer(status=404)
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if answer.hold:
                    self.wfile.write(answer.body[:len(answer.body) // 2])
                    self.wfile.flush()
                    answer.hold.reached.set()
                    while not answer.hold.released.wait(0.05):
                        if outer.stopping.is_set():
                            self.close_connection = True
                            return
                    self.wfile.write(answer.body[len(answer.body) // 2:])
                    return
                if answer.stall:
                    self.wfile.write(answer.body[:len(answer.body) // 2])
                    self.wfile.flush()
                    outer.stopping.wait(60)
                    self.close_connection = True
                    return
                self.wfile.write(answer.body)

            def _upload(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                up = Upload(self.command, self.path, dict(self.headers), body)
                with outer.lock:
                    outer.requests.append((self.path, dict(self.headers)))
                    if outer.serve_uploads and outer.upload_status < 300:
                        outer.routes[self.path] = [Answer(up.file_content())]
                with outer.upload_event:
                    outer.uploads.append(up)
                    outer.upload_event.notify_all()
                self.send_response(outer.upload_status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = _upload
            do_POST = _upload

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://{LOOPBACK}:{self.port}/"

    def route(self, path, *answers):
        with self.lock:
            self.routes["/" + path.lstrip("/")] = list(answers)

    def paths(self):
        with self.lock:
            return [p for p, _ in self.requests]

    def wait_upload(self, path, count=1, timeout=15):
        """The count-th upload to path (waits for it)."""
        path = "/" + path.lstrip("/")
        with self.upload_event:
            ok = self.upload_event.wait_for(lambda: len([u for u in self.uploads if u.path == path]) >= count,
                                            timeout)
            if not ok:
                raise TestFailure(f"no upload #{count} of {path} within {timeout} s "
                                  f"(uploads: {[(u.method, u.path) for u in self.uploads]})")
            return [u for u in self.uploads if u.path == path][count - 1]

    def upload_count(self, path):
        with self.upload_event:
            return len([u for u in self.uploads if u.path == "/" + path.lstrip("/")])

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class Upload:
    """A PUT or POST the scripted server received."""

    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    def form_file(self):
        """POST multipart/form-data: (part name, file name, content) of the first part."""
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {self.headers.get('Content-Type', '')}\r\n\r\n".encode() + self.body)
        for part in msg.iter_parts():
            return (part.get_param("name", header="content-disposition"), part.get_filename(),
                    part.get_payload(decode=True))
        raise TestFailure(f"{self.method} {self.path}: no form part in {self.body[:200]!r}")

    def file_content(self):
        """The file that was uploaded: the body of a PUT, the form's file of a POST."""
        return self.form_file()[2] if self.method == "POST" else self.body


# ---- FTP (python3-pyftpdlib) ----

class FtpServer(Resource):
    """pyftpdlib serving workdir/www on 127.0.0.1 (a free port) in a thread;
    users={name: password} (read and write), else anonymous read-only."""

    def __init__(self, workdir, users=None, name="ftp"):
        # Debian's package, for a python3 that is not Debian's (pure Python, any 3.x)
        if importlib.util.find_spec("pyftpdlib") is None and os.path.isdir("/usr/lib/python3/dist-packages/pyftpdlib"):
            sys.path.append("/usr/lib/python3/dist-packages")
            # not Debian's pyOpenSSL with another Python's cryptography: FTP without TLS
            sys.modules.setdefault("OpenSSL", None)
        try:
            from pyftpdlib.authorizers import DummyAuthorizer
            from pyftpdlib.handlers import FTPHandler
            from pyftpdlib.servers import ThreadedFTPServer
        except ImportError:
            raise Skip("python3-pyftpdlib is not installed")
        import logging
        quiet = logging.getLogger("pyftpdlib")  # a handler of its own: pyftpdlib then logs nothing to stderr
        if not quiet.handlers:
            quiet.addHandler(logging.NullHandler())
            quiet.propagate = False
        self.name = name
        self.www = os.path.join(workdir, "www")
        os.makedirs(self.www, exist_ok=True)
        auth = DummyAuthorizer()
        for user, password in (users or {}).items():
            auth.add_user(user, password, self.www, perm="elradfmw")
        if not users:
            auth.add_anonymous(self.www)
        handler = type("Handler", (FTPHandler,), {"authorizer": auth, "passive_ports": None})
        self.server = ThreadedFTPServer((LOOPBACK, 0), handler)
        self.port = self.server.address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"timeout": 0.2}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"ftp://{LOOPBACK}:{self.port}/"

    def put(self, name, data):
        path = os.path.join(self.www, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return path

    def read(self, name):
        with open(os.path.join(self.www, name), "rb") as f:
            return f.read()

    def stop(self):
        self.server.close_all()
        self.thread.join(10)


# ---- files ----

def cfgcrypt(*args):
    if not os.access(CFGCRYPT, os.X_OK):
        raise Skip(f"{CFGCRYPT} is not built")
    return run([CFGCRYPT, *map(str, args)])


def encrypt_legacy(src_text, out_path, key=None):
    """Encrypt src_text to out_path with key, or with a random key written to
    <name>_Security.enc beside out_path (returned as bytes) when key is None."""
    src = out_path + ".plain"
    with open(src, "w") as f:
        f.write(src_text)
    args = ["encrypt", src, out_path] if key is None else ["--key", key, "encrypt", src, out_path]
    cfgcrypt(*args)
    os.unlink(src)
    with open(out_path, "rb") as f:
        return f.read()


def encrypt_rsa(src_text, out_path, rsa_key):
    src = out_path + ".plain"
    with open(src, "w") as f:
        f.write(src_text)
    cfgcrypt("--mode", "rsa", "--rsa-key", rsa_key, "encrypt", src, out_path)
    os.unlink(src)
    with open(out_path, "rb") as f:
        return f.read()


def rsa_key(directory, name="rsa.pem"):
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        run([program("certtool"), "--generate-privkey", "--no-text", "--key-type=rsa", "--bits=2048",
             "--outfile", path])
    return path


# ---- phones ----

def provisioning_phone(t, cfg, ca=None, services=("provd",), fake_media=False, env=None):
    """A phone (started) whose configuration names a server; ca: a
    ThrowawayCa installed as the phone's custom CA (provd's certs/ca/).
    Power-on provisioning is off unless cfg says otherwise, so that a test
    starts runs itself; the MAC is TEST_MAC."""
    full = {"deskphone.mac": TEST_MAC, "static.auto_provision.power_on": 0}
    full.update(cfg)
    d = t._dir("phone")
    phone = t.add(Phone(d, cfg=full, services=list(services), name=os.path.basename(d), fake_media=fake_media,
                        env=env))
    if ca:
        # the store as it was before generations: provd moves it into the first one at start
        cadir = os.path.join(d, "state", "provd", "certs", "ca")
        os.makedirs(cadir, mode=0o700, exist_ok=True)
        shutil.copy(ca.cert, os.path.join(cadir, "test-ca.pem"))
    return phone.start()


def effective_path(phone):
    return os.path.join(phone.dir, "state", "provd", "config", "current", "effective.cfg")


def effective(phone):
    with open(effective_path(phone), "rb") as f:
        return f.read()


def provision(phone, *args, expect_ok=True, timeout=60):
    """phonectl provision --wait [args]; returns (rc, stdout, stderr)."""
    rc, out, err = phone.ctl("--timeout", str(timeout), "provision", "--wait", *args, timeout=timeout + 15)
    if expect_ok and rc != 0:
        raise TestFailure(f"{phone.name}: provisioning failed (exit {rc}):\n{out}{err}")
    return rc, out, err


def provision_fails(phone, *args, contains=(), timeout=60):
    """Provisioning must fail with LastError containing each string, and
    leave effective.cfg byte for byte as it was. Returns LastError."""
    before = effective(phone)
    rc, out, err = provision(phone, *args, expect_ok=False, timeout=timeout)
    expect(rc == 1, f"provisioning should fail with exit 1, got {rc}:\n{out}{err}")
    last_error = phone.prop("/org/deskphone/Provision1", "org.deskphone.Provision1", "LastError",
                            "org.deskphone.Provision1")
    for c in contains:
        expect(c in last_error, f"LastError {last_error!r} does not say {c!r}")
        expect(c in err, f"phonectl's message does not say {c!r}: {err!r}")
    expect(effective(phone) == before, "effective.cfg changed although provisioning failed")
    expect(phone.prop("/org/deskphone/Provision1", "org.deskphone.Provision1", "State",
                      "org.deskphone.Provision1") == "failed", "State is not 'failed'")
    return last_error


def provision_prop(phone, name):
    return phone.prop("/org/deskphone/Provision1", "org.deskphone.Provision1", name, "org.deskphone.Provision1")


def session_log(phone):
    with open(phone.log_path, errors="replace") as f:
        return f.read()
