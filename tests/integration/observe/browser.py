#!/usr/bin/env python3
"""Drives headless Chromium through chromedriver (WebDriver over HTTP, standard library
only): loads the status page, waits until the DOM shows generation FROM serving, runs
the upgrade command, then reads the same page (never reloaded) until the DOM shows
generation TO serving and FROM gone. Prints each DOM state it saw; exits 1 if the page
did not show the switch within the cap.

usage: browser.py DRIVER_URL PAGE_URL FROM TO SCREENSHOT -- UPGRADE_COMMAND...
"""
import base64
import contextlib
import json
import subprocess
import sys
import time
import urllib.request

CAP_SECONDS = 90


def call(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"{}").get("value")


GENS = """return JSON.stringify({
  marker: window.__loadedOnce || (window.__loadedOnce = String(Math.random())),
  gens: [...document.querySelectorAll('#gens tr[data-gen]')].map(
      r => r.dataset.gen + ':' + r.dataset.state),
  timelines: [...document.querySelectorAll('#timelines [data-upgrade]')].map(
      t => t.dataset.upgrade)});"""


@contextlib.contextmanager
def session(driver):
    """A headless Chromium session; yields its base URL, ends it on the way out."""
    caps = {"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1000,700"]}}}}
    sid = call("POST", driver + "/session", caps)["sessionId"]
    base = f"{driver}/session/{sid}"
    try:
        yield base
    finally:
        call("DELETE", base)


def main():
    driver, page, old, new, shot = sys.argv[1:6]
    command = sys.argv[sys.argv.index("--") + 1:]
    with session(driver) as base:
        call("POST", base + "/url", {"url": page})
        seen, marker, upgrade, end = [], None, None, time.monotonic() + CAP_SECONDS
        while time.monotonic() < end:
            state = json.loads(call("POST", base + "/execute/sync", {"script": GENS, "args": []}))
            marker = marker or state["marker"]
            if state["marker"] != marker:
                print("the page was reloaded", flush=True)
                return 1
            if not seen or seen[-1] != state["gens"]:
                seen.append(state["gens"])
                print("dom: " + " ".join(state["gens"]), flush=True)
            gens = dict(g.split(":") for g in state["gens"])
            if upgrade is None and gens.get(old) == "serving" and new not in gens:
                upgrade = subprocess.Popen(command)
            if upgrade is not None and gens.get(new) == "serving" and old not in gens \
                    and new in state["timelines"]:
                png = call("GET", base + "/screenshot")
                with open(shot, "wb") as f:
                    f.write(base64.b64decode(png))
                return 0 if upgrade.wait(timeout=60) == 0 else 1
            time.sleep(0.1)
        print("cap reached; states seen: %s" % seen, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
