# syntax=docker/dockerfile:1.7
# One image for every CRM process. The `crm` CLI (package crm-platform) imports all four
# contexts, so a per-context install would not be smaller; the targets at the end only set
# the default command, and share every layer.
#
#   docker build -t crm-platform .                    # then: docker run crm-platform serve customer
#   docker build --target customer -t crm-customer .  # the same, `serve customer` by default
#
# Every dependency in uv.lock ships a manylinux wheel, so no compiler is needed anywhere;
# the final stage holds only the virtualenv, never uv, pip or build tools. UV_VERSION is the
# uv the Makefile pins: an older uv may not read the lock a newer one wrote.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/crm/venv
WORKDIR /src
# Dependencies first, from the lock alone: this layer survives code changes. uv needs every
# workspace member's pyproject to read the workspace, not yet its code.
COPY pyproject.toml uv.lock ./
COPY shared/events/pyproject.toml shared/events/
COPY shared/kernel/pyproject.toml shared/kernel/
COPY services/customer/pyproject.toml services/customer/
COPY services/sales/pyproject.toml services/sales/
COPY services/service-desk/pyproject.toml services/service-desk/
COPY services/analytics/pyproject.toml services/analytics/
COPY services/activities/pyproject.toml services/activities/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package crm-platform
# Then our code, installed as real (non-editable) packages so the venv does not need /src.
COPY shared/ shared/
COPY services/ services/
COPY src/ src/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package crm-platform

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="crm-platform" \
      org.opencontainers.image.description="Event-sourced CQRS CRM: crm serve|relay|worker" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 crm \
    && useradd --system --uid 10001 --gid crm --no-create-home --home-dir /var/lib/crm crm \
    && install -d -o crm -g crm -m 0750 /var/lib/crm
COPY --from=builder /opt/crm/venv /opt/crm/venv
# CRM_HOST: listen beyond loopback inside the container. CRM_DATA_DIR is the only place a
# process writes (Faust's data dir is relative to the working directory, hence WORKDIR);
# Kubernetes mounts an emptyDir there so the root filesystem can stay read-only.
ENV PATH=/opt/crm/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CRM_HOST=0.0.0.0 \
    CRM_PORT=8000 \
    CRM_DATA_DIR=/var/lib/crm
WORKDIR /var/lib/crm
USER 10001:10001
EXPOSE 8000
# Every process (`serve`, `relay`, `worker`) answers /health on CRM_PORT. slim has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('CRM_PORT', '8000'), timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["crm"]
CMD ["--help"]

FROM runtime AS customer
CMD ["serve", "customer"]

FROM runtime AS sales
CMD ["serve", "sales"]

FROM runtime AS service-desk
CMD ["serve", "service-desk"]

FROM runtime AS analytics
CMD ["serve", "analytics"]

FROM runtime AS analytics-worker
CMD ["worker", "analytics"]

FROM runtime AS activities
CMD ["serve", "activities"]

# Last, so that a plain `docker build .` gives the generic image (`crm --help` by default).
FROM runtime AS crm-platform
