#!/usr/bin/env python3
"""Loopback sinks for scripts/bench (standard library only).

    sinks.py http PORT_FILE OUT_FILE     an HTTP/1.1 server (keep-alive, pipelining) answering 200 to everything
    sinks.py smtp PORT_FILE OUT_FILE     an SMTP server (EHLO, PIPELINING, 8BITMIME; no TLS, no auth) accepting all

Each listens on 127.0.0.1 on a free port, writes the port to PORT_FILE, and records the wall-clock instant
(time.time()) at which each request or message was complete, with its body. On SIGTERM or SIGINT it writes
OUT_FILE, one JSON object per line ({"t": seconds since the epoch, "body": text}), and exits. The hot path does
no parsing beyond framing, so that the capacity a load tool measures is the capacity slawatch is offered.
"""

import asyncio
import json
import os
import signal
import sys
import time

received = []  # (instant, bytes)


class HTTPSink(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip() or 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            received.append((time.time(), body))
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


class SMTPSink(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""
        self.data = None
        transport.write(b"220 bench-sink ESMTP\r\n")

    def data_received(self, chunk):
        self.buffer += chunk
        out = []
        while True:
            if self.data is not None:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    if self.buffer.startswith(b".\r\n"):  # empty message
                        end = -2
                    else:
                        break
                message = self.data + self.buffer[:max(end, 0)]
                self.buffer = self.buffer[end + 5:]
                self.data = None
                received.append((time.time(), message))
                out.append(b"250 2.0.0 queued\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                break
            line = self.buffer[:end]
            self.buffer = self.buffer[end + 2:]
            verb = line[:4].upper()
            if verb == b"EHLO":
                out.append(b"250-bench-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 52428800\r\n250 SMTPUTF8\r\n")
            elif verb == b"HELO":
                out.append(b"250 bench-sink\r\n")
            elif verb == b"DATA":
                self.data = b""
                out.append(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                out.append(b"221 bye\r\n")
                self.transport.write(b"".join(out))
                self.transport.close()
                return
            else:  # MAIL, RCPT, RSET, NOOP, XFORWARD...
                out.append(b"250 ok\r\n")
        if out:
            self.transport.write(b"".join(out))


def main():
    kind, port_file, out_file = sys.argv[1], sys.argv[2], sys.argv[3]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    factory = HTTPSink if kind == "http" else SMTPSink
    server = loop.run_until_complete(loop.create_server(factory, "127.0.0.1", 0, backlog=1024))
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.replace(port_file + ".tmp", port_file)
    # The number received so far, for the harness to poll.
    def progress():
        with open(out_file + ".count.tmp", "w") as f:
            f.write(str(len(received)))
        os.replace(out_file + ".count.tmp", out_file + ".count")
        loop.call_later(0.2, progress)
    progress()
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, lambda: stop.done() or stop.set_result(None))
    loop.run_until_complete(stop)
    server.close()
    with open(out_file, "w") as f:
        for t, body in received:
            f.write(json.dumps({"t": t, "body": body.decode("utf-8", "replace")}) + "\n")


if __name__ == "__main__":
    main()
