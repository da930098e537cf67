"""A small Chrome DevTools Protocol client over --remote-debugging-pipe (stdlib only).

Debian's headless Chromium (chromium-headless-shell) reads NUL-terminated JSON commands on
fd 3 and writes answers and events on fd 4: no port to pick or race for, no websocket code, no
npm. Chosen over puppeteer-core (a Node.js stack and a version pinned to a Chromium the
Debian package may not be) and over a websocket client (Python's stdlib has none)."""

import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time

class CdpError(RuntimeError):
    pass


def chromium_binary():
    path = shutil.which("chromium-headless-shell")
    if not path:
        raise CdpError("no chromium-headless-shell: scripts/lib.sh installs it")
    return path


def high_pipe():
    """os.pipe() with both ends at 10 or above, so the dup2s to 3 and 4 cannot clobber them."""
    ends = []
    for fd in os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return ends


class Browser:
    """One Chromium process; pages are targets attached in flat mode (one pipe for all)."""

    def __init__(self, log_path, width=1280, height=900):
        self.profile = tempfile.mkdtemp(prefix="orderly-chromium-")
        to_child_r, self._to_child = high_pipe()
        self._from_child, from_child_w = high_pipe()
        args = [chromium_binary(), "--remote-debugging-pipe", "--headless",
                "--user-data-dir=" + self.profile, "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--disable-default-apps",
                "--disable-gpu", "--mute-audio", "--hide-scrollbars",
                "--window-size=%d,%d" % (width, height), "about:blank"]
        if os.geteuid() == 0:  # Chromium's sandbox refuses to run as root
            args.insert(1, "--no-sandbox")
        log = open(log_path, "ab")

        def fds():  # the child's fd 3 reads our commands, fd 4 writes to us
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        # pass_fds keeps 3 and 4 open past the preexec dup2s (subprocess closes the rest after).
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     preexec_fn=fds, pass_fds=(3, 4), start_new_session=True)
        log.close()
        os.close(to_child_r)
        os.close(from_child_w)
        self._next_id = 0
        self._lock = threading.Lock()
        self._waiting = {}  # id -> Queue for its answer
        self._listeners = []  # (session_id, callback(method, params))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                self._dispatch(json.loads(raw))
        with self._lock:  # the browser is gone: wake every caller
            for q in self._waiting.values():
                q.put({"error": {"message": "browser exited"}})

    def _dispatch(self, msg):
        if "id" in msg:
            with self._lock:
                q = self._waiting.pop(msg["id"], None)
            if q:
                q.put(msg)
            return
        for session, callback in list(self._listeners):
            if session == msg.get("sessionId"):
                callback(msg["method"], msg.get("params", {}))

    def call(self, method, params=None, session=None, timeout=30.0):
        with self._lock:
            self._next_id += 1
            mid = self._next_id
            q = self._waiting[mid] = queue.Queue(1)
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        try:
            answer = q.get(timeout=timeout)
        except queue.Empty:
            raise CdpError("%s: no answer within %.0f s" % (method, timeout)) from None
        if "error" in answer:
            raise CdpError("%s: %s" % (method, answer["error"].get("message")))
        return answer.get("result", {})

    def listen(self, session, callback):
        self._listeners.append((session, callback))

    def new_page(self, width=1280, height=900):
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target,
                                                      "flatten": True})["sessionId"]
        return Page(self, target, session, width, height)

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except CdpError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """One tab. Records every request it makes, console messages, exceptions and CSP
    violations (as Chromium reports them in its log)."""

    def __init__(self, browser, target, session, width, height):
        self.browser, self.target, self.session = browser, target, session
        self.requests = []  # (method, url, request headers)
        self.problems = []  # exceptions, console errors, CSP violations
        self._loaded = threading.Event()
        browser.listen(session, self._on_event)
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(domain + ".enable")
        self.resize(width, height)

    def _on_event(self, method, params):
        if method == "Network.requestWillBeSent":
            req = params["request"]
            self.requests.append((req["method"], req["url"], req.get("headers", {})))
        elif method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.exceptionThrown":
            d = params["exceptionDetails"]
            self.problems.append("exception: %s" % (d.get("exception", {}).get("description")
                                                     or d.get("text")))
        elif method == "Log.entryAdded":
            e = params["entry"]
            if e.get("level") == "error" and "Failed to load resource" not in e.get("text", ""):
                self.problems.append("log %s: %s" % (e.get("source"), e.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.problems.append("console.error: %s" % " ".join(
                str(a.get("value", a.get("description"))) for a in params.get("args", [])))

    def call(self, method, **params):
        return self.browser.call(method, params, session=self.session)

    def resize(self, width, height):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=width < 600)

    def goto(self, url, timeout=30.0):
        self._loaded.clear()
        self.call("Page.navigate", url=url)
        if not self._loaded.wait(timeout):
            raise CdpError("%s did not load within %.0f s" % (url, timeout))

    def eval(self, expression):
        """The value of a JavaScript expression (promises awaited), as JSON data."""
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise CdpError("%s: %s" % (expression, r["exceptionDetails"].get("text")))
        return r["result"].get("value")

    def wait_for(self, expression, timeout=30.0, what=None):
        """Polls expression until it is truthy; returns its value or raises at the deadline."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.05)
        raise CdpError("not true within %.0f s: %s (last %r)" % (timeout, what or expression,
                                                                  value))

    def type_into(self, selector, text, submit=True):
        """Focuses the element, types text as keyboard input and presses Enter."""
        self.eval("(() => { const e = document.querySelector(%s); e.focus(); e.select && "
                  "e.select(); return true; })()" % json.dumps(selector))
        self.call("Input.insertText", text=text)
        if submit:
            self.press("Enter", 13)

    def press(self, key, code, times=1):
        """Key presses as a keyboard sends them; Enter carries its text, so it submits."""
        down = {"type": "keyDown", "text": "\r"} if key == "Enter" else {"type": "rawKeyDown"}
        for _ in range(times):
            for params in (down, {"type": "keyUp"}):
                self.call("Input.dispatchKeyEvent", key=key, code=key, windowsVirtualKeyCode=code,
                          nativeVirtualKeyCode=code, **params)

    def screenshot(self, path):
        import base64
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data["data"]))
        return path
