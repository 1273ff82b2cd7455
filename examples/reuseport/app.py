#!/usr/bin/python3
"""A small HTTP app written for SO_REUSEPORT, as `baton run --mode reuseport` runs it:
it binds the first address of $BATON_LISTEN (else 127.0.0.1:$PORT) itself with
socket.SO_REUSEPORT, beside the other versions, answers GET with its version, and on
SIGTERM stops accepting, finishes the requests in flight and exits 0."""
import http.server
import os
import signal
import socket
import sys
import threading


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for the requests in flight
    request_queue_size = 1024

    def server_bind(self):
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


def main():
    version = sys.argv[sys.argv.index("--version") + 1] if "--version" in sys.argv else "v1"
    shared = os.environ.get("BATON_LISTEN", "").split()
    addr = shared[0] if shared else "127.0.0.1:" + os.environ["PORT"]
    host, port = addr.rsplit(":", 1)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection

        def do_GET(self):
            body = (version + "\n").encode()
            self.send_response(200)
            self.send_header("X-Version", version)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = Server((host.strip("[]"), int(port)), Handler)
    stop = threading.Thread(target=server.shutdown)
    signal.signal(signal.SIGTERM, lambda *_: stop.start())
    server.serve_forever()
    server.server_close()  # closes the listener, then joins the request threads
    print(f"app.py {version}: drained, exiting", file=sys.stderr)


if __name__ == "__main__":
    main()
