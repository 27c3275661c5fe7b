"""The one download helper: a body too large (declared or sent), a transfer past its deadline and a refused
connection each end with a message naming what was being fetched."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from labtools.errors import EnvironmentBroken
from labtools.provision import download


class Server:
    def __init__(self, mode: str):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                if mode == "declared":
                    self.send_header("Content-Length", str(10 * 1024 * 1024))
                self.end_headers()
                try:
                    while True:  # endless, or slow
                        self.wfile.write(b"x" * 1024)
                        if mode == "trickle":
                            time.sleep(0.05)
                        if mode == "small":
                            return
                except OSError:
                    return

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/file"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(mode):
        servers.append(Server(mode))
        return servers[-1].url

    yield start
    for server in servers:
        server.close()


def test_a_small_body_arrives_whole(serve):
    assert download.fetch(serve("small"), "a test file", 4096, 10) == b"x" * 1024


def test_a_declared_size_over_the_limit_is_refused_before_reading(serve):
    with pytest.raises(EnvironmentBroken, match="10 MiB, more than the 1 MiB a test file can be"):
        download.fetch(serve("declared"), "a test file", 1024 * 1024, 10)


def test_an_endless_body_is_cut_at_the_limit(serve):
    with pytest.raises(EnvironmentBroken, match="sent more than 1 MiB; that is not a test file"):
        download.fetch(serve("endless"), "a test file", 1024 * 1024, 30)


def test_a_trickled_body_stops_at_the_deadline(serve):
    with pytest.raises(EnvironmentBroken, match="took more than 0.5 s"):
        download.fetch(serve("trickle"), "a test file", 1024 * 1024, 0.5)


def test_a_refused_connection_names_the_file_and_the_fix():
    with pytest.raises(EnvironmentBroken, match="Cannot download a test file from http://127.0.0.1:9/") as caught:
        download.fetch("http://127.0.0.1:9/file", "a test file", 1024, 5)
    assert "HTTPS_PROXY" in (caught.value.hint or "")
