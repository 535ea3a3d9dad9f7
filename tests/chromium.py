"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

The browser reads commands from descriptor 3 and writes replies and events to descriptor 4,
each a JSON object ended by a NUL byte: no port, no WebSocket, no library. :func:`render`
opens a local file, waits for its load event and returns what the tests check: console
messages and errors, the values of JavaScript expressions, and a PNG screenshot.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
)


def executable() -> str | None:
    """The Chromium binary (Debian's ``chromium``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


@dataclass
class Rendered:
    console: list[dict] = field(default_factory=list)  # Runtime.consoleAPICalled / Log.entryAdded
    exceptions: list[dict] = field(default_factory=list)  # Runtime.exceptionThrown
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    values: dict[str, object] = field(default_factory=dict)
    screenshot: bytes = b""
    screenshots: list[bytes] = field(default_factory=list)


class _Pipe:
    def __init__(self, write_fd: int, read_fd: int, deadline: float) -> None:
        self.w, self.r, self.deadline = write_fd, read_fd, deadline
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []

    def _message(self) -> dict:
        while b"\0" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buf += chunk
        raw, _, self.buf = self.buf.partition(b"\0")
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        while True:
            ev = self._message()
            if ev.get("method") == method:
                return ev
            self.events.append(ev)


def _above_9(fd: int) -> int:
    """``fd`` moved above 9, so that putting the child's ends on 3 and 4 clobbers neither."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


def render(page: Path, expressions: dict[str, str], *, width: int = 1200, height: int = 3000,
           tops: tuple[int, ...] = (0,), timeout: float = 60.0) -> Rendered:
    """Open ``page`` in headless Chromium, evaluate ``expressions`` (name -> JavaScript) after
    the load event, and take ``width`` x ``height`` screenshots of the page from each of
    ``tops`` (pixels from the top; the first is :attr:`Rendered.screenshot`)."""
    binary = executable()
    if binary is None:
        raise FileNotFoundError("chromium")
    cmd_r, cmd_w = os.pipe()
    out_r, out_w = os.pipe()
    cmd_r, out_w = _above_9(cmd_r), _above_9(out_w)
    profile = tempfile.mkdtemp(prefix="symderiv-chromium-")
    # the shell puts our two pipe ends on descriptors 3 and 4, where Chromium expects them
    script = f'exec "$0" "$@" 3<&{cmd_r} 4>&{out_w} {cmd_r}<&- {out_w}>&-'
    args = [*FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", f"--window-size={width},{height}",
            "about:blank"]
    proc = subprocess.Popen(["bash", "-c", script, binary, *args], pass_fds=(cmd_r, out_w),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(cmd_r)
    os.close(out_w)
    result = Rendered()
    try:
        pipe = _Pipe(cmd_w, out_r, time.monotonic() + timeout)
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
        pipe.send("Page.navigate", {"url": page.resolve().as_uri()}, session)
        pipe.wait_for("Page.loadEventFired")
        for name, js in expressions.items():
            reply = pipe.send("Runtime.evaluate", {"expression": js, "returnByValue": True}, session)
            if "exceptionDetails" in reply:
                raise RuntimeError(f"{name}: {reply['exceptionDetails']}")
            result.values[name] = reply["result"].get("value")
        for top in tops:
            shot = pipe.send("Page.captureScreenshot",
                             {"format": "png", "captureBeyondViewport": True,
                              "clip": {"x": 0, "y": top, "width": width, "height": height, "scale": 1}}, session)
            result.screenshots.append(base64.b64decode(shot["data"]))
        result.screenshot = result.screenshots[0]
        for ev in pipe.events:
            method, params = ev.get("method"), ev.get("params", {})
            if method == "Runtime.consoleAPICalled":
                result.console.append({"level": params.get("type"), "args": params.get("args")})
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                result.console.append({"level": entry.get("level"), "text": entry.get("text"),
                                       "url": entry.get("url")})
            elif method == "Runtime.exceptionThrown":
                result.exceptions.append(params)
            elif method == "Network.requestWillBeSent":
                result.requests.append(params.get("request", {}).get("url"))
        try:
            pipe.send("Browser.close")
        except (EOFError, TimeoutError):
            pass
    finally:
        os.close(cmd_w)
        os.close(out_r)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return result
