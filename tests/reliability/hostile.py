"""Servers on 127.0.0.1 that misbehave the way a broken cluster, proxy or gateway does, for reliability tests.

Each is a plain socket server in a daemon thread (no framework: the point is bytes no framework would send):
  silent     accepts the connection, reads the request, never answers
  endless    answers 200 with a chunked body that never ends
  trickle    answers 200 with a declared 1 MB body, one byte every half second
  html       answers every request 200 with an HTML page (a captive portal, a proxy's login page)
  json BODY  answers every request 200 with the given JSON text (e.g. {"items": 5})
"""

from __future__ import annotations

import socket
import threading
import time


class HostileServer:
    def __init__(self, mode: str, body: str = ""):
        self.mode = mode
        self.body = body.encode()
        self.requests: list[str] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._stop = threading.Event()
        self._connections: list[socket.socket] = []
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "HostileServer":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        for conn in self._connections:
            try:
                conn.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                request = _read_request(conn)
                if request is None:
                    return
                self.requests.append(request.split("\r\n", 1)[0])
                if not self._answer(conn):
                    return
        except OSError:
            return

    def _answer(self, conn: socket.socket) -> bool:
        if self.mode == "silent":
            self._stop.wait()
            return False
        if self.mode == "endless":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"x" * 65536
            while not self._stop.is_set():
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            return False
        if self.mode == "trickle":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n")
            while not self._stop.is_set():
                conn.sendall(b"x")
                time.sleep(0.5)
            return False
        body = b"<html><body><h1>Please log in</h1></body></html>" if self.mode == "html" else self.body
        kind = b"text/html" if self.mode == "html" else b"application/json"
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (kind, len(body), body))
        return True


def _read_request(conn: socket.socket) -> str | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    length = next((int(line.split(":", 1)[1]) for line in text.split("\r\n") if line.lower().startswith("content-length:")), 0)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return text


def kubeconfig_for(url: str, context: str = "kind-istio-labs") -> str:
    """A kubeconfig whose cluster is the server at `url` (the lab context's name by default)."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {context}\n  cluster: {{server: \"{url}\"}}\n"
        f"contexts:\n- name: {context}\n  context: {{cluster: {context}, user: learner}}\n"
        f"current-context: {context}\nusers:\n- name: learner\n  user: {{token: test}}\n"
    )
