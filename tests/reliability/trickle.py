"""A tiny HTTP server that answers every request with headers at once and then one body byte per second,
or a search page whose ``next`` link never ends (in a thread of its own, on a free loopback port)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import orjson

from medqc.demo import free_port


class Trickle:
    def __init__(self, mode: str = "trickle") -> None:
        self.mode = mode
        self.port = free_port()
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                if self.mode == "endless-pages":
                    page = {
                        "resourceType": "Bundle",
                        "type": "searchset",
                        "link": [
                            {"relation": "next", "url": f"{self.base}/fhir/Condition?page={self.requests}"}
                        ],
                        "entry": [],
                    }
                    body = orjson.dumps(page)
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    await writer.drain()
                    continue
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                )
                await writer.drain()
                for _ in range(100_000):
                    writer.write(b" ")
                    await writer.drain()
                    await asyncio.sleep(1.0)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            started.set()

        self._loop.run_until_complete(serve())
        self._loop.run_forever()

    @contextmanager
    def running(self) -> Iterator[Trickle]:
        started = threading.Event()
        thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        thread.start()
        started.wait(10)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(timeout=10)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
