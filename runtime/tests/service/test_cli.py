"""`bioner-serve`: a folder that cannot be loaded stops it with the reason; a good one is served
(the real command in a subprocess, on a free port)."""
import json
import socket
import subprocess
import sys
import time
import urllib.request

from hsl_bioner_runtime.service.cli import main


def test_a_bad_folder_stops_with_the_reason(tmp_path, capsys):
    assert main([str(tmp_path / "missing")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("bioner-serve: ") and "missing" in error


def test_bad_settings_stop_with_the_reason(tiny_folder, capsys):
    assert main([str(tiny_folder), "--max-batch", "0"]) == 2
    assert "max_batch" in capsys.readouterr().err


def test_the_command_serves_the_folder(tiny_folder):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "hsl_bioner_runtime.service.cli", str(tiny_folder),
         "--port", str(port), "--log-level", "warning", "--max-batch", "8"],
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "health", timeout=5) as response:
                    health = json.loads(response.read())
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert health["max_batch"] == 8
        request = urllib.request.Request(
            url + "tag?format=conll", data=b'{"text": "BRCA1 in breast cancer."}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.read().decode().startswith("# newdoc id = 1\nBRCA1\t0\t5\t")
    finally:
        process.terminate()
        process.wait(30)
