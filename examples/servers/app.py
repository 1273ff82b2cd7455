"""The WSGI app of the server recipes (docs/examples-servers.md) and their tests: it
answers its version, taken from APP_VERSION, in the X-Version header and the body.
GET /slow answers after 2 s: a request in flight while a server is told to stop; it
first creates the file named by APP_SLOW_MARK, if set, so a test knows it started."""
import os
import time

VERSION = os.environ.get("APP_VERSION", "v0")


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/slow":
        mark = os.environ.get("APP_SLOW_MARK")
        if mark:
            open(mark, "w").close()
        time.sleep(2)
    body = (VERSION + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body))),
                              ("X-Version", VERSION)])
    return [body]
