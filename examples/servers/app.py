"""The WSGI app of the server recipes (docs/examples-servers.md) and their tests: it
answers its version, taken from APP_VERSION, in the X-Version header and the body."""
import os

VERSION = os.environ.get("APP_VERSION", "v0")


def application(environ, start_response):
    body = (VERSION + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body))),
                              ("X-Version", VERSION)])
    return [body]
