#!/usr/bin/env python3
"""Drives headless Chromium through chromedriver (WebDriver over HTTP, standard library
only) on `baton proxy`'s status page: waits until the DOM shows the backends with pool
FROM active, types the admin token into the page, clicks the page's own "switch here"
button and reads the page until it shows pool TO active and FROM's backends drained.
Prints each DOM state it saw; exits 1 if the page did not show the switch in time.

usage: browser_proxy.py DRIVER_URL PAGE_URL TOKEN FROM TO
"""
import json
import sys
import time
import urllib.error

from browser import call, session

CAP_SECONDS = 90
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

STATE = """return JSON.stringify({
  active: document.getElementById('active').textContent,
  rows: [...document.querySelectorAll('#backends tr[data-backend]')].map(
      r => r.dataset.backend + ':' + r.dataset.pool + ':' + r.dataset.state)});"""


def element(base, using, value):
    """The WebDriver id of the element found (W3C key, or the legacy one)."""
    found = call("POST", base + "/element", {"using": using, "value": value})
    if not isinstance(found, dict) or not (found.get(ELEMENT) or found.get("ELEMENT")):
        raise SystemExit("no element %s: %r" % (value, found))
    return found.get(ELEMENT) or found.get("ELEMENT")


def main():
    driver, page, token, old, new = sys.argv[1:6]
    with session(driver) as base:
        call("POST", base + "/url", {"url": page})
        seen, clicked, end = [], False, time.monotonic() + CAP_SECONDS
        while time.monotonic() < end:
            state = json.loads(call("POST", base + "/execute/sync", {"script": STATE, "args": []}))
            if not seen or seen[-1] != state:
                seen.append(state)
                print("dom: %s %s" % (state["active"], " ".join(state["rows"])), flush=True)
            if not clicked and state["active"] == "active: " + old and state["rows"]:
                field = element(base, "css selector", "#token")
                call("POST", base + "/element/%s/value" % field, {"text": token})
                for _ in range(20):  # the page may redraw the row between find and click
                    button = element(base, "xpath", "//button[text()='switch here']")
                    try:
                        call("POST", base + "/element/%s/click" % button, {})
                        break
                    except urllib.error.HTTPError as e:
                        print("click: %s" % e.read()[:200], flush=True)
                clicked = True
            rows = [r.split(":") for r in state["rows"]]
            if clicked and state["active"] == "active: " + new and \
                    all(s in ("draining", "drained") for _, p, s in rows if p == old):
                return 0
            time.sleep(0.1)
        print("cap reached", flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
