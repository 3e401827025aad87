# SPDX-License-Identifier: Apache-2.0
"""A headless Chromium driven over the DevTools protocol, through a pipe.

Chromium is started with --remote-debugging-pipe: it reads commands on its
descriptor 3 and writes replies and events on descriptor 4, each message a
JSON object ended by a NUL byte. Nothing listens on a port.
"""

import base64
import fcntl
import json
import os
import signal
import subprocess
import time


class Browser:
    """One page of a fresh headless Chromium, `width` × `height` CSS pixels."""

    def __init__(self, width=1400, height=1100):
        to_browser, commands = os.pipe()
        replies, from_browser = os.pipe()

        def child():
            # Moved out of the way first, so that neither lands on the other's number.
            a = fcntl.fcntl(to_browser, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_browser, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--remote-debugging-pipe",
             f"--window-size={width},{height}", "about:blank"],
            preexec_fn=child, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # noqa: PLW1509 (no threads here)
            start_new_session=True)
        os.close(to_browser)
        os.close(from_browser)
        self.out, self.inp = commands, replies
        self.buffer = b""
        self.last_id = 0
        self.session = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def call(self, method, **params):
        """Sends one command (to the page, once attached) and returns its result; raises on an error reply."""
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.inp, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed its DevTools pipe")
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(line)
            if reply.get("id") == self.last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def go(self, url):
        self.call("Page.navigate", url=url)

    def eval(self, expression):
        """The value of a JavaScript expression in the page (JSON-able), or None when it throws."""
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return None if "exceptionDetails" in r else r.get("result", {}).get("value")

    def wait(self, expression, timeout=60):
        """Evaluates `expression` every 250 ms until it is truthy; its value, or None after `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.25)
        return None

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        self.session = None
        try:
            self.call("Browser.close")
            self.proc.wait(timeout=10)
        except (OSError, RuntimeError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.out)
        os.close(self.inp)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
