"""Redis restarted under a running worker, and Redis down when a job is submitted.

Real parts only: a redis-server on a free loopback port with its append-only file
on (a restart keeps the data, as a production Redis would), a real ``whisperd
serve`` API server without a model, a real ``whisperd worker`` with tiny.en, real
recordings. What must hold while Redis is away:

- no job accepted with 202 is lost: every one ends ``succeeded``;
- the worker process survives, logs the outage in a few lines (no traceback per
  poll), and keeps working once Redis is back;
- the API answers 503 in OpenAI's error shape at once (no 500, no hang), and
  answers normally again once Redis is back;
- a submission refused with 503 left nothing behind.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from jobs.procs import Proc, free_port, wait_until, worker_env

pytestmark = pytest.mark.slow

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
LONG = "en_long_multispeaker_concat"  # 183 s: seven 30 s windows, many speakers
SHORT = ["en_librispeech_1089-134686-0001", "en_librispeech_1089-134691-0000",
         "en_librispeech_61-70968-0000"]
REQUEST_TIMEOUT_S = 30  # a refused request must come back well within this


class RedisServer:
    """A redis-server that can be stopped and started again on the same port and data."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self._starts = 0

    def start(self) -> None:
        import redis

        self._starts += 1
        log = open(self.workdir / f"redis-{self._starts}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.workdir), "--save", "", "--appendonly", "yes",
             "--appendfsync", "always"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        client = redis.Redis.from_url(self.url)
        try:
            wait_until(lambda: _pings(client) or self.proc.poll() is not None, 20,
                       "redis-server to accept connections")
        finally:
            client.close()
        assert self.proc.poll() is None, "redis-server exited at start"

    def stop(self) -> None:
        """Shut down as an operator would (SIGTERM: the append-only file is flushed)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # in case a test froze it
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def freeze(self) -> None:
        """SIGSTOP: connections are still accepted by the kernel, nothing answers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def start_worker(data_dir: Path, cwd: Path, name: str, **settings: str) -> Proc:
    """``whisperd worker``, the command a deployment runs (JSON logs)."""
    cwd.mkdir(parents=True, exist_ok=True)
    return Proc([sys.executable, "-m", "whisperd", "worker"], worker_env(data_dir, **settings),
                cwd, cwd / f"{name}.log")


def _start_api(tmp_path: Path, queue_url: str, **settings: str) -> tuple[Proc, str]:
    port = free_port()
    api_dir = tmp_path / "api"
    api_dir.mkdir(exist_ok=True)
    api = Proc([sys.executable, "-m", "whisperd", "serve"],
               worker_env(api_dir / "data", local_model="false", host="127.0.0.1",
                          port=str(port), queue_url=queue_url, **settings),
               api_dir, api_dir / "api.log")
    return api, f"http://127.0.0.1:{port}"


def _start_worker_and_api(tmp_path: Path, queue_url: str) -> tuple[Proc, Proc, str]:
    """A worker and a model-less API sharing Redis, for the outage tests.

    A short lease, so that an outage longer than a third of it misses heartbeats;
    batch_size 1, so that progress (and so "the job is under way") is visible.
    """
    worker = start_worker(tmp_path / "worker" / "data", tmp_path / "worker", "worker",
                          queue_url=queue_url, job_lease_s="6", batch_size="1")
    api, base_url = _start_api(tmp_path, queue_url, job_lease_s="6")
    return worker, api, base_url


def _wait_ready(worker: Proc, api: Proc, base_url: str) -> None:
    worker.wait_for_output("serving tiny.en", 180)
    wait_until(lambda: _health(base_url) == 200 or api.popen.poll() is not None, 120,
               "the API server")
    assert api.popen.poll() is None, api.output()[-3000:]


def _health(base_url: str) -> int:
    try:
        return requests.get(base_url + "/health", timeout=5).status_code
    except requests.RequestException:
        return 0


def _submit(base_url: str, path: Path) -> requests.Response:
    with open(path, "rb") as f:
        return requests.post(f"{base_url}/v1/jobs", files={"file": (path.name, f)},
                             data={"language": "en"}, timeout=REQUEST_TIMEOUT_S)


def _transcribe_sync(base_url: str, path: Path, outcome: dict) -> None:
    try:
        with open(path, "rb") as f:
            outcome["response"] = requests.post(
                f"{base_url}/v1/audio/transcriptions", files={"file": (path.name, f)},
                data={"model": "whisper-1", "response_format": "text"}, timeout=300)
    except requests.RequestException as e:  # reported by the test's assertions
        outcome["error"] = e


def _job(base_url: str, job_id: str) -> dict:
    response = requests.get(f"{base_url}/v1/jobs/{job_id}", timeout=REQUEST_TIMEOUT_S)
    response.raise_for_status()
    return response.json()


def _assert_openai_503(response: requests.Response, elapsed_s: float, *,
                       within_s: float = 10) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["type"] == "server_error" and error["code"] == "service_unavailable", error
    assert "redis" in error["message"].lower() or "queue" in error["message"].lower(), error
    assert response.headers.get("Retry-After")
    assert elapsed_s < within_s, f"the 503 took {elapsed_s:.1f} s"


def _timed(call) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _job_ids_in_redis(server: RedisServer) -> set[str]:
    client = server.client()
    try:
        return {key.decode().split(":")[2] for key in client.scan_iter("whisperd:job:*")}
    finally:
        client.close()


def test_redis_restart_under_a_running_worker_loses_no_job(
        tmp_path: Path, redis_server: RedisServer, recording) -> None:
    worker, api, base_url = _start_worker_and_api(tmp_path, redis_server.url)
    try:
        _wait_ready(worker, api, base_url)

        accepted = []
        response = _submit(base_url, recording(LONG))
        assert response.status_code == 202, response.text
        accepted.append(response.json()["id"])
        for name in SHORT[:2]:
            response = _submit(base_url, recording(name))
            assert response.status_code == 202, response.text
            accepted.append(response.json()["id"])
        long_id = accepted[0]
        wait_until(lambda: (j := _job(base_url, long_id))["status"] == "running"
                   and j["progress"] > 0, 240, "the long job to be under way")
        log_mark = len(worker.output())
        # A synchronous request forwarded to the worker (the API has no model), waiting
        # behind the long job when Redis goes away: it waits the outage out.
        sync: dict = {}
        sync_thread = threading.Thread(target=_transcribe_sync,
                                       args=(base_url, recording(SHORT[1]), sync), daemon=True)
        sync_thread.start()
        time.sleep(0.5)

        redis_server.stop()
        down_at = time.monotonic()
        # While Redis is down the API refuses at once, in OpenAI's shape.
        response, elapsed = _timed(lambda: _submit(base_url, recording(SHORT[2])))
        _assert_openai_503(response, elapsed)
        response, elapsed = _timed(lambda: requests.get(f"{base_url}/v1/jobs/{long_id}",
                                                        timeout=REQUEST_TIMEOUT_S))
        _assert_openai_503(response, elapsed)
        response, elapsed = _timed(lambda: requests.get(f"{base_url}/v1/jobs",
                                                        timeout=REQUEST_TIMEOUT_S))
        _assert_openai_503(response, elapsed)
        assert _health(base_url) == 503
        # Down for longer than the lease, so heartbeats and dequeues fail meanwhile.
        time.sleep(max(0.0, 8.0 - (time.monotonic() - down_at)))
        assert worker.popen.poll() is None, worker.output()[-3000:]
        redis_server.start()

        wait_until(lambda: _health(base_url) == 200, 30, "the API to see Redis again")
        response = _submit(base_url, recording(SHORT[2]))
        assert response.status_code == 202, response.text
        accepted.append(response.json()["id"])

        finished = [wait_until(lambda i=job_id: (j := _job(base_url, i))["status"] in
                               ("succeeded", "failed", "cancelled") and j, 400,
                               f"job {job_id} to finish") for job_id in accepted]
        assert [j["status"] for j in finished] == ["succeeded"] * len(accepted), (
            finished, worker.output()[-4000:])
        # Finished during the outage, its outcome was held until Redis answered: the
        # work was not thrown away and redone.
        assert finished[0]["attempts"] == 1, worker.output()[-4000:]
        sync_thread.join(timeout=120)
        assert "response" in sync, (sync, api.output()[-3000:])
        assert sync["response"].status_code == 200, sync["response"].text
        assert "he could wait no longer" in sync["response"].text.lower()
        text = requests.get(f"{base_url}/v1/jobs/{long_id}/result?format=text",
                            timeout=REQUEST_TIMEOUT_S).text.lower()
        assert "apostle of the middle classes" in text  # tiny.en, long packed audio
        short_text = requests.get(f"{base_url}/v1/jobs/{accepted[1]}/result?format=text",
                                  timeout=REQUEST_TIMEOUT_S).text.lower()
        assert "his belly" in short_text

        # The refused submission left nothing: only the accepted jobs exist.
        assert _job_ids_in_redis(redis_server) == set(accepted)
        # The worker survived and said what happened in a few lines, not a traceback
        # for every poll of the queue while Redis was away.
        assert worker.popen.poll() is None
        outage_log = worker.output()[log_mark:]
        assert "Traceback" not in outage_log, outage_log[-4000:]
        assert len(outage_log.splitlines()) < 60, outage_log[-4000:]
        assert "unreachable" in outage_log.lower(), outage_log[-4000:]

        # Again with the worker idle, waiting on the queue: it reconnects by itself.
        log_mark = len(worker.output())
        redis_server.stop()
        time.sleep(4)
        redis_server.start()
        wait_until(lambda: _health(base_url) == 200, 30, "the API to see Redis again")
        response = _submit(base_url, recording(SHORT[0]))
        assert response.status_code == 202, response.text
        last = wait_until(lambda: (j := _job(base_url, response.json()["id"]))["status"]
                          in ("succeeded", "failed") and j, 120, "the job after the restart")
        assert last["status"] == "succeeded", worker.output()[-4000:]
        idle_log = worker.output()[log_mark:]
        assert "Traceback" not in idle_log, idle_log[-4000:]
        assert len(idle_log.splitlines()) < 30, idle_log[-4000:]
        assert "job queue whisperd.tiny.en unreachable" in idle_log, idle_log[-4000:]
    finally:
        api.stop()
        assert worker.stop() == 0, worker.output()[-3000:]


def test_redis_down_at_submission_is_503_and_writes_nothing(
        tmp_path: Path, redis_server: RedisServer, recording) -> None:
    api, base_url = _start_api(tmp_path, redis_server.url)
    try:
        wait_until(lambda: _health(base_url) == 200 or api.popen.poll() is not None, 120,
                   "the API server")
        assert api.popen.poll() is None, api.output()[-3000:]
        redis_server.stop()

        response, elapsed = _timed(lambda: _submit(base_url, recording(SHORT[0])))
        _assert_openai_503(response, elapsed)
        # A synchronous request forwarded to the workers is refused the same way.
        with open(recording(SHORT[0]), "rb") as f:
            response, elapsed = _timed(lambda: requests.post(
                f"{base_url}/v1/audio/transcriptions", files={"file": ("a.flac", f)},
                data={"model": "whisper-1"}, timeout=REQUEST_TIMEOUT_S))
        _assert_openai_503(response, elapsed)
        assert _health(base_url) == 503

        redis_server.start()
        wait_until(lambda: _health(base_url) == 200, 30, "the API to see Redis again")
        assert _job_ids_in_redis(redis_server) == set()
        listed = requests.get(f"{base_url}/v1/jobs", timeout=REQUEST_TIMEOUT_S)
        assert listed.status_code == 200 and listed.json()["data"] == []
        response = _submit(base_url, recording(SHORT[0]))
        assert response.status_code == 202, response.text
        assert _job_ids_in_redis(redis_server) == {response.json()["id"]}
    finally:
        api.stop()


def test_redis_frozen_under_a_running_worker_loses_no_job(
        tmp_path: Path, redis_server: RedisServer, recording) -> None:
    """A Redis that stops answering without closing anything (SIGSTOP: a frozen host,
    a stalled fork) must turn into timeouts and 503s, not hangs or failed jobs."""
    worker, api, base_url = _start_worker_and_api(tmp_path, redis_server.url)
    try:
        _wait_ready(worker, api, base_url)
        accepted = []
        for name in [LONG, SHORT[0]]:
            response = _submit(base_url, recording(name))
            assert response.status_code == 202, response.text
            accepted.append(response.json()["id"])
        wait_until(lambda: (j := _job(base_url, accepted[0]))["status"] == "running"
                   and j["progress"] > 0, 240, "the long job to be under way")
        log_mark = len(worker.output())

        redis_server.freeze()
        frozen_at = time.monotonic()
        response, elapsed = _timed(lambda: requests.get(f"{base_url}/v1/jobs/{accepted[0]}",
                                                        timeout=REQUEST_TIMEOUT_S))
        _assert_openai_503(response, elapsed, within_s=REQUEST_TIMEOUT_S / 2)
        # Frozen for longer than the lease and than whisperd's socket timeout (10 s).
        time.sleep(max(0.0, 16.0 - (time.monotonic() - frozen_at)))
        assert worker.popen.poll() is None, worker.output()[-3000:]
        redis_server.thaw()

        wait_until(lambda: _health(base_url) == 200, 30, "the API to see Redis again")
        finished = [wait_until(lambda i=job_id: (j := _job(base_url, i))["status"] in
                               ("succeeded", "failed", "cancelled") and j, 400,
                               f"job {job_id} to finish") for job_id in accepted]
        assert [j["status"] for j in finished] == ["succeeded"] * len(accepted), (
            finished, worker.output()[-4000:])
        assert finished[0]["attempts"] == 1, worker.output()[-4000:]
        assert worker.popen.poll() is None
        outage_log = worker.output()[log_mark:]
        assert "Traceback" not in outage_log, outage_log[-4000:]
        assert len(outage_log.splitlines()) < 60, outage_log[-4000:]
    finally:
        api.stop()
        assert worker.stop() == 0, worker.output()[-3000:]


def test_worker_and_api_started_before_redis_wait_for_it(
        tmp_path: Path, redis_server: RedisServer, recording) -> None:
    """Started together (docker compose up), whisperd may come up before Redis does."""
    redis_server.stop()
    worker = start_worker(tmp_path / "worker" / "data", tmp_path / "worker", "worker",
                          queue_url=redis_server.url, job_lease_s="6")
    api, base_url = _start_api(tmp_path, redis_server.url)
    try:
        worker.wait_for_output("serving tiny.en", 180)
        wait_until(lambda: _health(base_url) == 503 or api.popen.poll() is not None, 120,
                   "the API server to answer")
        time.sleep(3)
        assert worker.popen.poll() is None, worker.output()[-3000:]
        assert api.popen.poll() is None, api.output()[-3000:]
        redis_server.start()
        wait_until(lambda: _health(base_url) == 200, 30, "the API to see Redis")
        response = _submit(base_url, recording(SHORT[0]))
        assert response.status_code == 202, response.text
        done = wait_until(lambda: (j := _job(base_url, response.json()["id"]))["status"]
                          in ("succeeded", "failed") and j, 120, "the job")
        assert done["status"] == "succeeded", worker.output()[-3000:]
        assert "Traceback" not in worker.output(), worker.output()[-4000:]
    finally:
        api.stop()
        assert worker.stop() == 0, worker.output()[-3000:]


def test_job_stored_just_before_the_queue_went_away_is_accepted_and_sent_later(
        tmp_path: Path, redis_server: RedisServer, recording) -> None:
    """Redis answered the record's write, then not the message's: the job is stored,
    so it is accepted (202, not a 503 for a job that would run anyway), and the
    reaper sends its message."""
    from whisperd.engine.options import TranscriptionOptions
    from whisperd.jobs.maintenance import RESEND_GRACE_S, Maintenance
    from whisperd.jobs.redis_store import RedisJobStore
    from whisperd.jobs.service import JobService
    from whisperd.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", model="tiny.en", device="cpu",
                        compute_type="int8", allow_download=False, queue_url=redis_server.url)
    # The store reaches Redis; the queue is pointed at a port where nothing listens.
    cut_off = JobService(settings.replace(queue_url=f"redis://127.0.0.1:{free_port()}/0"),
                         RedisJobStore(redis_server.url))
    live = JobService.from_settings(settings)
    try:
        job = cut_off.submit(recording(SHORT[0]).read_bytes(), "short.flac",
                             TranscriptionOptions(model="tiny.en", language="en"))
        assert live.get(job.id).status == "queued"
        assert job.id not in live.queues.pending_ids("tiny.en")
        time.sleep(RESEND_GRACE_S + 0.5)
        Maintenance(live.store, live.queues, live.settings).run_once()
        assert job.id in live.queues.pending_ids("tiny.en")
    finally:
        cut_off.close()
        live.close()


def test_redis_refusing_writes_is_503_and_writes_nothing(
        tmp_path: Path, redis_server: RedisServer, recording) -> None:
    """Redis up but refusing writes (maxmemory reached under noeviction, as in
    docker-compose.yml): a capacity problem of the server, so 503, not 500."""
    api, base_url = _start_api(tmp_path, redis_server.url)
    client = redis_server.client()
    try:
        wait_until(lambda: _health(base_url) == 200 or api.popen.poll() is not None, 120,
                   "the API server")
        assert api.popen.poll() is None, api.output()[-3000:]
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", "1")  # already over it: every write is refused

        response, elapsed = _timed(lambda: _submit(base_url, recording(SHORT[0])))
        _assert_openai_503(response, elapsed)
        listed = requests.get(f"{base_url}/v1/jobs", timeout=REQUEST_TIMEOUT_S)
        assert listed.status_code == 200 and listed.json()["data"] == []  # reads still work

        client.config_set("maxmemory", "0")
        assert _job_ids_in_redis(redis_server) == set()
        response = _submit(base_url, recording(SHORT[0]))
        assert response.status_code == 202, response.text
    finally:
        client.close()
        api.stop()
