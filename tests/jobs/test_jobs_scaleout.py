"""Distributed mode: an API server and two workers that share nothing but Redis.

Separate processes in separate working and data directories, a real redis-server,
the real tiny.en model. Checks that both workers take jobs, that every job
succeeds, that a worker killed mid-job leaves its job to the other once its
(short) lease expires, and that an API server without a model answers a
synchronous /v1/audio/transcriptions request through a worker.
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import pytest
from procs import (  # tests/jobs/procs.py
    Proc,
    free_port,
    start_worker,
    wait_until,
    worker_env,
)

from whisperd.jobs.client import JobClient

pytestmark = pytest.mark.slow

SHORT = ["en_librispeech_1089-134686-0001", "en_librispeech_1089-134691-0000",
         "en_librispeech_61-70968-0000", "en_librispeech_1272-128104-0000"]
LONG = "en_long_ljspeech_LJ001-0001_0032"
JFK = "en_jfk_inaugural"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _transcribe_sync(base_url: str, path: Path) -> tuple[int, str]:
    import requests

    with open(path, "rb") as f:
        response = requests.post(f"{base_url}/v1/audio/transcriptions",
                                 files={"file": (path.name, f)},
                                 data={"model": "whisper-1", "response_format": "text"},
                                 timeout=300)
    return response.status_code, response.text


def test_api_server_and_two_workers_share_only_redis(tmp_path: Path, clean_redis: str,
                                                     recording) -> None:
    # A short lease, so that a killed worker's job moves on quickly; batch_size 1, so
    # that progress (and so "mid-job") is visible on the long recording.
    shared = {"queue_url": clean_redis, "job_lease_s": "3", "batch_size": "1"}
    workers = [start_worker(tmp_path / name / "data", tmp_path / name, name, **shared)
               for name in ("worker1", "worker2")]
    port = free_port()
    api_dir = tmp_path / "api"
    api_dir.mkdir()
    api = Proc([sys.executable, "-m", "whisperd", "serve"],
               worker_env(api_dir / "data", local_model="false", host="127.0.0.1",
                          port=str(port), **shared),
               api_dir, api_dir / "api.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        for worker in workers:
            worker.wait_for_output("serving tiny.en", 180)
        wait_until(lambda: _healthy(base_url) or api.popen.poll() is not None, 120,
                   "the API server")
        assert api.popen.poll() is None, api.output()[-3000:]
        client = JobClient(base_url)

        submitted = [client.submit(recording(r), {"language": "en"}) for r in SHORT]
        finished = [client.wait(job["id"], poll_s=0.2, timeout_s=300) for job in submitted]
        assert [job["status"] for job in finished] == ["succeeded"] * len(SHORT), finished
        pids = {job["worker"].rsplit(":", 1)[1] for job in finished}
        assert pids == {str(w.pid) for w in workers}  # both workers took jobs
        text = client.result(finished[0]["id"], "text").lower()
        assert "his belly" in text

        # Kill the worker that runs the long job, mid-job; the other one finishes it.
        long_job = client.submit(recording(LONG), {"language": "en"})
        running = wait_until(
            lambda: (j := client.get(long_job["id"]))["status"] == "running"
            and j["progress"] > 0 and j, 240, "the long job to be under way")
        victim = next(w for w in workers if running["worker"].endswith(f":{w.pid}"))
        survivor = next(w for w in workers if w is not victim)
        victim.kill9()
        done = client.wait(long_job["id"], poll_s=0.5, timeout_s=400)
        assert done["status"] == "succeeded", (done, survivor.output()[-3000:])
        assert done["attempts"] == 2 and done["worker"].endswith(f":{survivor.pid}")
        assert "printing" in client.result(long_job["id"], "text").lower()

        # No model in the API server: a synchronous request is answered by the worker.
        status, body = _transcribe_sync(base_url, recording(JFK))
        assert status == 200, body
        assert "ask not what your country" in body.lower()
    finally:
        api.stop()
        for worker in workers:
            worker.stop()
