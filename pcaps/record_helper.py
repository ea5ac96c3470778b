#!/usr/bin/env python3
"""Servers, clients and payloads used by pcaps/record.sh (standard library only).

Every payload is deterministic: payload(seed, n) is SHA-256 in counter mode, so the same seed
gives the same bytes on any machine and any Python 3. The HTTP server sends fixed headers (no
Date, a fixed Server string) in the same write as the body, so that two recordings differ only
in what the kernel chooses (ISNs, ports, timing, how the client ACKs).

  gen-files DIR                      write small.txt (100 B), large.bin (1 MiB), upload.bin (200 KiB)
  http-server ADDR PORT DIR COUNT    answer COUNT requests: GET /NAME serves DIR/NAME, POST reads the
                                     whole body and answers 200; every response is one write followed
                                     by the server's FIN (Connection: close, no Content-Length)
  zw-server ADDR PORT RCVBUF PAUSE   accept one connection on a socket whose SO_RCVBUF was set before
                                     listen(), sleep PAUSE seconds without reading, read to EOF, answer
  zw-client ADDR PORT SIZE           send SIZE bytes, shut down the write side, print the answer
  echo-client ADDR PORT LINE...      send each line, wait for its echo, then close
  sha256 FILE                        print the file's SHA-256
"""
import hashlib
import os
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SMALL_SIZE = 100
LARGE_SIZE = 1 << 20
UPLOAD_SIZE = 200 * 1024


def payload(seed: str, n: int) -> bytes:
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


def small_text() -> bytes:
    line = b"mtcp-replay small file, served by 198.18.1.2 (the server) to 198.18.1.1 (the client).\n"
    body = (line * 2)[:SMALL_SIZE - 1] + b"\n"
    assert len(body) == SMALL_SIZE
    return body


def gen_files(d: str) -> None:
    os.makedirs(d, exist_ok=True)
    files = {
        "small.txt": small_text(),
        "large.bin": payload("mtcp-replay large", LARGE_SIZE),
        "upload.bin": payload("mtcp-replay upload", UPLOAD_SIZE),
    }
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    directory = "."

    def _answer(self, code: int, body: bytes, ctype: str) -> None:
        # Status line, headers and body go out in one write, followed at once by the server's
        # FIN: the body is delimited by the close (Connection: close, no Content-Length), so the
        # server always closes first and curl cannot race it. No Date header: the response bytes
        # are the same on every recording.
        self.log_request(code)
        head = (f"HTTP/1.1 {code} {self.responses[code][0]}\r\n"
                f"Server: mtcp-record\r\n"
                f"Content-Type: {ctype}\r\n"
                f"Connection: close\r\n\r\n").encode()
        self.wfile.write(head + body)
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_WR)
        self.close_connection = True

    def do_GET(self):
        name = os.path.basename(self.path.split("?", 1)[0])
        path = os.path.join(self.directory, name)
        if not name or not os.path.isfile(path):
            self._answer(404, b"not found\n", "text/plain")
            return
        with open(path, "rb") as f:
            body = f.read()
        ctype = "text/plain" if name.endswith(".txt") else "application/octet-stream"
        self._answer(200, body, ctype)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        got = bytearray()
        while len(got) < n:
            chunk = self.rfile.read(min(65536, n - len(got)))
            if not chunk:
                break
            got += chunk
        digest = hashlib.sha256(got).hexdigest()
        self._answer(200, f"received {len(got)} bytes sha256 {digest}\n".encode(), "text/plain")

    do_PUT = do_POST


def http_server(addr: str, port: int, d: str, count: int) -> None:
    Handler.directory = d
    HTTPServer.allow_reuse_address = True
    srv = HTTPServer((addr, port), Handler)
    for _ in range(count):
        srv.handle_request()
    srv.server_close()


def zw_server(addr: str, port: int, rcvbuf: int, pause: float) -> None:
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Set before listen() so the accepted socket inherits it and the SYN-ACK's window is small.
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    ls.bind((addr, port))
    ls.listen(1)
    conn, _ = ls.accept()
    ls.close()
    time.sleep(pause)  # the receive buffer fills and the window closes
    h = hashlib.sha256()
    n = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    conn.sendall(f"OK {n} bytes sha256 {h.hexdigest()}\n".encode())
    conn.close()
    print(f"zw-server: read {n} bytes", file=sys.stderr)


def zw_client(addr: str, port: int, size: int) -> None:
    data = payload("mtcp-replay zero-window", size)
    s = socket.create_connection((addr, port), timeout=20)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    answer = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
    s.close()
    want = f"OK {size} bytes sha256 {hashlib.sha256(data).hexdigest()}\n".encode()
    sys.stdout.write(answer.decode(errors="replace"))
    if answer != want:
        sys.exit(f"zw-client: unexpected answer {answer!r}")


def echo_client(addr: str, port: int, lines: list) -> None:
    s = socket.create_connection((addr, port), timeout=10)
    for line in lines:
        msg = (line + "\n").encode()
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("echo-client: connection closed early")
            got += chunk
        if got != msg:
            sys.exit(f"echo-client: sent {msg!r}, got {got!r}")
        sys.stdout.write(got.decode())
    s.close()


def main(argv: list) -> None:
    if not argv:
        sys.exit(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "gen-files":
        gen_files(args[0])
    elif cmd == "http-server":
        http_server(args[0], int(args[1]), args[2], int(args[3]))
    elif cmd == "zw-server":
        zw_server(args[0], int(args[1]), int(args[2]), float(args[3]))
    elif cmd == "zw-client":
        zw_client(args[0], int(args[1]), int(args[2]))
    elif cmd == "echo-client":
        echo_client(args[0], int(args[1]), args[2:])
    elif cmd == "sha256":
        with open(args[0], "rb") as f:
            print(hashlib.sha256(f.read()).hexdigest())
    else:
        sys.exit(f"unknown command {cmd!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
