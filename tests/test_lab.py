"""`make lab`, the README's way to run the notebooks, starts as root and runs a chapter's cell.

The test starts the lab server through the Makefile on a free local port, opens a chapter notebook
through the server's REST API, starts a session on it, runs the notebook's first code cell in
that session's kernel, and stops the server.
"""
import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import time
import urllib.request

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTER = "regression/mse.ipynb"  # the lab serves book/, the folder of the page it opens


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base, token, path, data=None, method=None):
    req = urllib.request.Request(f"{base}{path}", method=method,
                                 data=None if data is None else json.dumps(data).encode(),
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def test_make_lab_starts_as_root_opens_a_chapter_and_runs_a_cell(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    args = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
            f"--ServerApp.token={token} --ServerApp.port_retries=0")
    log = open(tmp_path / "lab.log", "w")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"make lab exited with {proc.returncode}:\n{(tmp_path / 'lab.log').read_text()[-3000:]}")
            try:
                _api(base, token, "/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the lab server did not answer in 120 s")
                time.sleep(0.5)
        content = _api(base, token, f"/api/contents/{CHAPTER}")
        assert content["type"] == "notebook"
        cells = [c for c in content["content"]["cells"] if c["cell_type"] == "code"]
        session = _api(base, token, "/api/sessions", method="POST",
                       data={"path": CHAPTER, "type": "notebook", "kernel": {"name": "python3"}})
        kernel_id = session["kernel"]["id"]

        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient(connection_file=str(tmp_path / "runtime" / f"kernel-{kernel_id}.json"))
        client.load_connection_file()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            outputs = []
            reply = client.execute_interactive(cells[0]["source"], timeout=120,
                                               output_hook=lambda msg: outputs.append(msg))
            assert reply["content"]["status"] == "ok", reply["content"]
            reply = client.execute_interactive(
                "import lossbook, pathlib; print(pathlib.Path(lossbook.__file__).resolve())", timeout=60,
                output_hook=lambda msg: outputs.append(msg))
            assert reply["content"]["status"] == "ok"
            printed = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
            assert str(ROOT / "lossbook") in printed  # the project's package, in the project's kernel
        finally:
            client.stop_channels()
        _api(base, token, f"/api/sessions/{session['id']}", method="DELETE")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
