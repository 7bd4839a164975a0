"""Run an ASGI app with uvicorn on a background thread (tests, `citydata demo`) or in the foreground (CLI)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

from citydata.errors import CitydataError

# Idle connections stay open longer than clients keep them (httpx: 5 s, the same as uvicorn's own
# default): a client reusing a connection the server closed that instant sees "connection reset".
KEEP_ALIVE_S = 75


@dataclass
class RunningServer:
    url: str
    server: object
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True  # type: ignore[attr-defined]
        self.thread.join(timeout)


def bind(host: str, port: int) -> socket.socket:
    """Bind now (port 0 = a free port chosen by the OS), so the URL is known before serving."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CitydataError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def serve_in_thread(app: object, host: str = "127.0.0.1", port: int = 0, timeout: float = 15.0) -> RunningServer:
    import uvicorn

    sock = bind(host, port)
    real_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_keep_alive=KEEP_ALIVE_S))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{real_port}")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise CitydataError(f"server on {host}:{real_port} did not start")
        time.sleep(0.02)
    return RunningServer(f"http://{host}:{real_port}", server, thread)


def serve_forever(app: object, sock: socket.socket) -> None:
    """Serve on an already bound socket (see ``bind``) until interrupted."""
    import uvicorn

    uvicorn.Server(uvicorn.Config(app, log_level="info", lifespan="on", timeout_keep_alive=KEEP_ALIVE_S)).run(sockets=[sock])
