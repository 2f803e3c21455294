"""Starts the real gatehouse binary on free loopback ports with a temporary prefix for the client tests."""

import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def admin_url():
    binary = os.environ.get("GATEHOUSE_BIN", os.path.join(ROOT, "target", "debug", "gatehouse"))
    prefix = tempfile.mkdtemp(prefix="gatehouse-clients-")
    admin = free_port()
    log = open(os.path.join(prefix, "gatehouse.log"), "w")
    process = subprocess.Popen(
        [binary, "start", "--prefix", prefix, "--admin_listen", f"127.0.0.1:{admin}",
         "--admin_gui_listen", "127.0.0.1:0", "--proxy_listen", "127.0.0.1:0", "--oxd_listen", "127.0.0.1:0"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{admin}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/status", timeout=1)
            break
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(open(os.path.join(prefix, "gatehouse.log")).read())
            time.sleep(0.05)
    yield url
    process.terminate()
    assert process.wait(timeout=20) == 0
