"""Loopback sinks for scripts/chaos (standard library only): an HTTP receiver and an SMTP server on 127.0.0.1
that can be told to misbehave, and that record every attempt with the process that sent it.

Both run on one asyncio loop in a thread of the harness. `mode` is read at each request or session:
  http: "ok" (200 at once), "slow" (200 after 1 s), "faulty" (a random mix: 500, 429 with Retry-After: 1, an
        answer after the client's timeout, the connection closed without an answer, or 200)
  smtp: "ok" (every message accepted), "faulty" (a fifth of the sessions dropped in the middle of DATA)

Every attempt is an `Arrival`: when the request (or the message's DATA) began and ended, what was answered,
the body and the id headers, and the pid of the slawatch process at the other end of the TCP connection
(found through /proc/net/tcp and the processes' open sockets when the connection is accepted). Only an
attempt answered with success in time is `accepted`: that is a message the receiver has, as far as the
sender can know.
"""

import asyncio
import os
import random
import threading
import time

LATE_S = 3.0  # past the channels' 2 s timeout
SLOW_S = 1.0
RACE_S = 0.05  # an end of stream this soon after a held-back answer: the client had given up
LIMIT = 64 << 20  # a folded message or a large batch fits


class Arrival:
    __slots__ = ("sink", "path", "began", "ended", "outcome", "accepted", "body", "message_id", "pid")

    def __init__(self, sink, path, began, body, message_id, pid):
        self.sink, self.path, self.began, self.body, self.message_id, self.pid = (sink, path, began, body,
                                                                                  message_id, pid)
        self.ended = None
        self.outcome = None
        self.accepted = False


def _socket_inode(local_port, remote_port):
    """The inode of the loopback TCP socket whose local port is local_port and remote port remote_port."""
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                lport = int(parts[1].rsplit(":", 1)[1], 16)
                rport = int(parts[2].rsplit(":", 1)[1], 16)
                if lport == local_port and rport == remote_port:
                    return parts[9]
    except (OSError, ValueError, IndexError, StopIteration):
        pass
    return None


def peer_pid(sink_port, peer_port, candidates):
    """Which of the candidate pids holds the client end of the connection peer_port -> sink_port; None if
    none does (the process may be gone already)."""
    inode = _socket_inode(peer_port, sink_port)
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in list(candidates):
        directory = f"/proc/{pid}/fd"
        try:
            for fd in os.listdir(directory):
                try:
                    if os.readlink(f"{directory}/{fd}") == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


class Sinks:
    """Both sinks on one event loop in a daemon thread. `pids` is a callable returning the pids that may
    connect (the harness's slawatch processes)."""

    def __init__(self, pids, seed=None):
        self.pids = pids
        self.http_mode = "ok"
        self.smtp_mode = "ok"
        self.arrivals = []
        self.lock = threading.Lock()
        self.random = random.Random(seed)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.http_port = None
        self.smtp_port = None
        self.thread = threading.Thread(target=self._run, name="sinks", daemon=True)
        self.thread.start()
        if not self.ready.wait(10) or not self.http_port:
            raise RuntimeError("the loopback sinks did not start")

    def _run(self):
        asyncio.set_event_loop(self.loop)

        async def start():
            self.http_server = await asyncio.start_server(self._http, "127.0.0.1", 0, backlog=512, limit=LIMIT)
            self.smtp_server = await asyncio.start_server(self._smtp, "127.0.0.1", 0, backlog=512, limit=LIMIT)
            self.http_port = self.http_server.sockets[0].getsockname()[1]
            self.smtp_port = self.smtp_server.sockets[0].getsockname()[1]
            self.ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def stop(self):
        def close():
            self.http_server.close()
            self.smtp_server.close()
            self.loop.stop()
        self.loop.call_soon_threadsafe(close)
        self.thread.join(10)

    def snapshot(self):
        with self.lock:
            return list(self.arrivals)

    def _record(self, arrival):
        with self.lock:
            self.arrivals.append(arrival)

    def _pid(self, writer, port):
        peer = writer.get_extra_info("peername")
        return peer_pid(port, peer[1], self.pids()) if peer else None

    # --- HTTP/1.1 with keep-alive; one request at a time per connection, as libcurl sends them.

    async def _http(self, reader, writer):
        pid = self._pid(writer, self.http_port)
        held = None  # the last answer, when it was held back
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    if held is not None and time.time() - held.ended < RACE_S:
                        # The client closed the connection as the held-back answer went out: its timeout
                        # fired first, and it will try again. Not a message it knows was received.
                        held.accepted, held.outcome = False, "answered as the client gave up"
                    return
                began = time.time()
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                try:
                    body = await reader.readexactly(length)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                arrival = Arrival("http", path, began, body.decode("utf-8", "replace"),
                                  headers.get("webhook-id"), pid)
                self._record(arrival)
                mode = self.http_mode
                choice = "ok"
                if mode == "slow":
                    choice = "slow"
                elif mode == "faulty":
                    r = self.random.random()
                    choice = ("500" if r < 0.2 else "429" if r < 0.32 else "late" if r < 0.42
                              else "closed" if r < 0.52 else "ok")
                if choice == "closed":
                    arrival.outcome, arrival.ended = "closed", time.time()
                    writer.close()
                    return
                if choice in ("slow", "late") and await _gave_up(reader, SLOW_S if choice == "slow" else LATE_S):
                    # The client closed the connection while the answer was held back (its timeout, which
                    # may have started before the request reached us, or a kill): it never saw an answer.
                    arrival.outcome, arrival.ended = "client gave up", time.time()
                    return
                if choice == "500":
                    answer = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"
                elif choice == "429":
                    answer = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"
                else:
                    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                try:
                    writer.write(answer)
                    await writer.drain()
                except ConnectionError:
                    arrival.outcome, arrival.ended = "client gone", time.time()
                    return
                arrival.ended = time.time()
                arrival.outcome = {"ok": "200", "slow": "200 after 1 s", "late": "200 after the timeout"}.get(
                    choice, choice)
                arrival.accepted = choice in ("ok", "slow")
                held = arrival if choice == "slow" else None
        finally:
            try:
                writer.close()
            except Exception:
                pass

    # --- SMTP: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no auth.

    async def _smtp(self, reader, writer):
        pid = self._pid(writer, self.smtp_port)
        try:
            writer.write(b"220 chaos-sink ESMTP\r\n")
            await writer.drain()
            while True:
                try:
                    line = await reader.readuntil(b"\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-chaos-sink\r\n250-8BITMIME\r\n250-SIZE 52428800\r\n250 SMTPUTF8\r\n")
                elif verb == b"HELO":
                    writer.write(b"250 chaos-sink\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    began = time.time()
                    if self.smtp_mode == "faulty" and self.random.random() < 0.2:
                        # Dropped after the message's head and a little of its body: the head carries the
                        # Message-ID, which the retries of this message must repeat (without it every
                        # retry of a dropped mail would count as one with another id).
                        try:
                            part = await reader.readuntil(b"\r\n\r\n")
                            part += await reader.read(200)
                        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                            part = b""
                        text = part.decode("utf-8", "replace")
                        arrival = Arrival("smtp", "", began, text, _header(text, "message-id"), pid)
                        arrival.outcome, arrival.ended = "dropped mid-DATA", time.time()
                        self._record(arrival)
                        return
                    try:
                        data = await reader.readuntil(b"\r\n.\r\n")
                    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                        return
                    text = data[:-5].decode("utf-8", "replace")
                    arrival = Arrival("smtp", "", began, text, _header(text, "message-id"), pid)
                    self._record(arrival)
                    try:
                        writer.write(b"250 2.0.0 queued\r\n")
                        await writer.drain()
                    except ConnectionError:
                        arrival.outcome, arrival.ended = "client gone", time.time()
                        return
                    arrival.outcome, arrival.ended, arrival.accepted = "250", time.time(), True
                    continue
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    return
                else:
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        except ConnectionError:
            return
        finally:
            try:
                writer.close()
            except Exception:
                pass


async def _gave_up(reader, seconds):
    """Waits `seconds`; True when the client closed the connection meanwhile. libcurl sends nothing more on a
    connection before its request is answered, so anything read here can only be the end of the stream."""
    try:
        data = await asyncio.wait_for(reader.read(1), timeout=seconds)
    except asyncio.TimeoutError:
        return False
    except ConnectionError:
        return True
    return data == b""


def _header(text, name):
    """A header's value from a message's head (unfolded); None when absent."""
    head = text.split("\r\n\r\n", 1)[0].replace("\r\n ", " ").replace("\r\n\t", " ")
    for line in head.split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return None
