"""A write that meets a kept-alive connection closing under it is sent once more (docs/replicas.md).

A balancer (HAProxy) or a server shutting down gracefully closes a reused
keep-alive connection without answering a request it never processed; HTTP
clients treat that as safe to retry, and so does the registry client, for
requests whose body can be sent again. The server here answers the first
request of a connection and drops the second one unanswered, as HAProxy does
when the replica behind it closed an idle connection during a rolling restart.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsml.backends.http._transport import Transport
from opsml.errors import BackendUnavailableError

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class DroppingServer:
    """Answers the first request of each connection; closes the second one unanswered."""

    def __init__(self, drop_second: bool = True) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.bodies: list[bytes] = []
        self.drop_second = drop_second
        threading.Thread(target=self._serve, daemon=True).start()

    def _read_request(self, conn: socket.socket, buffer: bytes) -> tuple[bytes, bytes] | None:
        while b"\r\n\r\n" not in buffer:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += conn.recv(65536)
        return rest[:length], rest[length:]

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            buffer, served = b"", 0
            while (request := self._read_request(conn, buffer)) is not None:
                body, buffer = request
                if served == 1 and self.drop_second:
                    return  # closed with no answer: the request was not processed
                self.bodies.append(body)
                conn.sendall(OK)
                served += 1

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server() -> Iterator[DroppingServer]:
    srv = DroppingServer()
    yield srv
    srv.close()


def test_a_post_on_a_connection_closed_unanswered_is_sent_again(server: DroppingServer) -> None:
    transport = Transport(f"http://127.0.0.1:{server.port}", retries=0, timeout=5)
    try:
        transport.send("POST", transport.api("first"), content=b"one")
        transport.send("POST", transport.api("second"), content=b"two")  # dropped, then resent
    finally:
        transport.close()
    assert server.bodies == [b"one", b"two"]


def test_a_multipart_registration_is_resent_whole(server: DroppingServer, tmp_path: Path) -> None:
    data = tmp_path / "weights.bin"
    data.write_bytes(b"w" * 70_000)
    transport = Transport(f"http://127.0.0.1:{server.port}", retries=0, timeout=5)
    try:
        transport.send("POST", transport.api("first"), content=b"one")
        with open(data, "rb") as handle:
            transport.send(
                "POST", transport.api("cards", "run"), data={"card": "{}"},
                files=[("files", ("weights.bin", handle, "application/octet-stream"))],
            )  # fmt: skip
    finally:
        transport.close()
    assert len(server.bodies) == 2 and server.bodies[1].count(b"w" * 70_000) == 1


def test_a_streamed_body_is_not_resent(server: DroppingServer) -> None:
    """A generator cannot be replayed: the caller decides (send_replayable)."""
    transport = Transport(f"http://127.0.0.1:{server.port}", retries=0, timeout=5)
    try:
        transport.send("POST", transport.api("first"), content=b"one")
        with pytest.raises(BackendUnavailableError, match="broke the connection"):
            transport.send("PUT", transport.api("file"), content=iter([b"a", b"b"]),
                           headers={"Content-Length": "2"})  # fmt: skip
    finally:
        transport.close()
    assert server.bodies == [b"one"]
