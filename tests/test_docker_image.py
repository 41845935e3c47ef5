"""The Docker image and compose file.

The configuration checks run everywhere: every WHISPERD_* value that the Dockerfiles
and docker-compose.yml set must be accepted by Settings.from_env, so a typo there
fails here instead of at a container's start. The image tests build the real image
and send it a real recording through scripts/docker-smoke (buildah and podman, no
Docker engine; see that script). They need root and buildah and are skipped without
them. Measured on a 2-core Debian 12 machine from nothing (apt-get install of the
tools 27 s, debootstrap stand-in 136 s, build 88 s, run 9 s; then 49 s for the second
test): about 5.5 minutes; with the base image and layers cached, about a minute.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from whisperd.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = ("Dockerfile", "Dockerfile.cuda")
SMOKE_TIMEOUT_S = 1800  # a cold run (debootstrap, pip downloads) takes a few minutes
# ${NAME:-default} and ${NAME} in compose files; the test uses the default.
COMPOSE_VARIABLE = re.compile(r"\$\{[A-Z0-9_]+(?::?-([^}]*))?\}")


def dockerfile_env(path: Path) -> dict[str, str]:
    """The ENV values a Dockerfile sets (KEY=VALUE form, with line continuations)."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip().upper().startswith("ENV "):
            for key, value in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\S+)", line):
                env[key] = value
    return env


def compose_services() -> dict[str, dict]:
    with (REPO_ROOT / "docker-compose.yml").open(encoding="utf-8") as f:
        services: dict[str, dict] = yaml.safe_load(f)["services"]
    return services


def compose_env(service: dict) -> dict[str, str]:
    raw = service.get("environment") or {}
    return {key: COMPOSE_VARIABLE.sub(lambda m: m.group(1) or "", str(value))
            for key, value in raw.items()}


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_settings_are_valid(name: str) -> None:
    env = dockerfile_env(REPO_ROOT / name)
    settings = Settings.from_env(env)
    assert settings.data_dir == Path("/data")
    assert (settings.host, settings.port) == ("0.0.0.0", 80)


def test_cuda_image_defaults_to_float16_on_cuda() -> None:
    settings = Settings.from_env(dockerfile_env(REPO_ROOT / "Dockerfile.cuda"))
    assert (settings.device, settings.compute_type) == ("cuda", "float16")


@pytest.mark.parametrize("service", ["whisperd", "api", "worker"])
def test_compose_settings_are_valid(service: str) -> None:
    services = compose_services()
    # Compose passes these on top of the image's ENV.
    image = "Dockerfile.cuda" if service == "worker" else "Dockerfile"
    env = dockerfile_env(REPO_ROOT / image) | compose_env(services[service])
    Settings.from_env(env)


def test_compose_api_forwards_to_workers_through_redis() -> None:
    services = compose_services()
    api = Settings.from_env(dockerfile_env(REPO_ROOT / "Dockerfile") | compose_env(services["api"]))
    worker = Settings.from_env(dockerfile_env(REPO_ROOT / "Dockerfile.cuda")
                               | compose_env(services["worker"]))
    assert api.local_model is False
    assert api.queue_url == worker.queue_url == "redis://redis:6379/0"
    assert api.model == worker.model  # jobs queue per model: both sides must agree
    assert services["worker"]["command"] == ["whisperd", "worker"]
    devices = services["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert "ports" not in services["redis"]  # never published


def smoke_skip_reason() -> str | None:
    if sys.platform != "linux" or os.geteuid() != 0:
        return "needs root on Linux (buildah with chroot isolation)"
    missing = [t for t in ("buildah", "podman") if shutil.which(t) is None]
    if missing:
        return (f"{', '.join(missing)} not installed "
                "(apt-get install -y buildah podman debootstrap)")
    return None


SMOKE_TAG = "localhost/whisperd:pytest"


def run_smoke(eval_dir: Path, *options: str) -> None:
    env = dict(os.environ, WHISPERD_EVAL_DIR=str(eval_dir))
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "docker-smoke"),
         "--tag", SMOKE_TAG, "--keep-image", *options],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=SMOKE_TIMEOUT_S,
        check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "PASSED" in output


@pytest.fixture(scope="module")
def smoke_image() -> Iterator[None]:
    """Keeps the image (and so buildah's layer cache) between the two image tests."""
    yield
    subprocess.run(["buildah", "rmi", SMOKE_TAG], capture_output=True, check=False)


needs_buildah = pytest.mark.skipif(smoke_skip_reason() is not None,
                                   reason=str(smoke_skip_reason()))


@pytest.mark.slow
@needs_buildah
def test_image_builds_and_transcribes_a_recording(eval_dir: Path, smoke_image: None) -> None:
    """Build the CPU image and run its own CMD on a real recording (scripts/docker-smoke)."""
    run_smoke(eval_dir)


@pytest.mark.slow
@needs_buildah
def test_image_as_api_and_worker_through_redis(eval_dir: Path, smoke_image: None) -> None:
    """The compose file's gpu layout on CPU: API without a model, `whisperd worker`, Redis.

    Needs redis-server on the host. The build reuses the cached layers of the test above.
    """
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is missing (apt-get install redis-server; scripts/test "
                    "installs it); the queue layout needs a real Redis")
    run_smoke(eval_dir, "--queue")
