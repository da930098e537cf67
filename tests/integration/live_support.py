"""A raw-socket Server-Sent Events client for GET /v1/events/live (many can be open at once
without a thread each) and a selector pump that feeds many of them."""

import socket
import time


class SSE:
    """One raw-socket SSE client: request, status and headers, de-chunked body, frames."""

    def __init__(self, port, path, headers=None, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                           "%s\r\n" % (path, extra)).encode())
        self.raw, self.body = b"", b""
        self.status, self.headers, self.ended = None, {}, False

    def close(self):
        self.sock.close()

    def feed(self, data):
        """Takes bytes from the socket (b"" means it closed)."""
        if not data:
            self.ended = True
        self.raw += data
        if self.status is None and b"\r\n\r\n" in self.raw:
            head, self.raw = self.raw.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            self.status = int(lines[0].split()[1])
            self.headers = {k.lower(): v.strip() for k, v in
                            (ln.split(":", 1) for ln in lines[1:])}
        if self.status is not None and "chunked" not in self.headers.get("transfer-encoding", ""):
            self.body, self.raw = self.body + self.raw, b""  # an error answer, not a stream
        while self.status is not None and b"\r\n" in self.raw:
            size_line, rest = self.raw.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                break
            self.body += rest[:size]
            self.raw = rest[size + 2:]
            if size == 0:
                self.ended = True

    def frames(self):
        """Complete frames as dicts: id/event/data fields, or {"comment": text}."""
        out = []
        for block in self.body.decode().split("\n\n")[:-1]:
            frame = {}
            for line in block.split("\n"):
                if line.startswith(":"):
                    frame["comment"] = line[1:].strip()
                else:
                    key, _, value = line.partition(": ")
                    frame[key] = value
            out.append(frame)
        return out

    def events(self):
        return [f for f in self.frames() if "id" in f]

    def read_until(self, done, timeout=30.0):
        """Reads until done(self) or the stream ends; returns done(self)."""
        deadline = time.monotonic() + timeout
        while not done(self) and not self.ended and time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                self.feed(self.sock.recv(65536))
            except socket.timeout:
                break
        return done(self)


def status_of(port, path, timeout=10.0):
    """The status of a stream's answer, read from its head only (the body never ends)."""
    s = SSE(port, path, timeout=timeout)
    try:
        s.read_until(lambda s: s.status is not None, timeout)
        return s.status
    finally:
        s.close()


def pump(sel, done, timeout):
    """Feeds readable sockets to their SSE clients until done() or timeout."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        for key, _ in sel.select(min(0.05, max(0.0, deadline - time.monotonic()))):
            try:
                key.data.feed(key.fileobj.recv(65536))
            except BlockingIOError:
                pass
            if key.data.ended:
                sel.unregister(key.fileobj)
    return done()
