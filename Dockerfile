# syntax=docker/dockerfile:1

# LXC Manager container image: one static binary on a distroless base (no
# shell, no package manager), running as uid/gid 65532.
#
#   docker build --build-arg VERSION=1.2.3 -t lxc-manager .
#   docker run --rm lxc-manager version
#   docker run --rm --env-file deploy/lxc-manager.env -p 127.0.0.1:3001:3001 lxc-manager
#
# The dashboard speaks plain HTTP on port 3001 and expects a TLS-terminating
# reverse proxy in front of it. deploy/compose.yaml runs it with Redis;
# docs/deploy.md explains the whole set-up.

# The Go release line to build with. The floating tag is the newest patch
# release of that line; go.mod's `go` line is the minimum it must satisfy
# (the image sets GOTOOLCHAIN=local, so it never downloads another toolchain).
ARG GO_VERSION=1.26

# The release: what `lxc-manager version` prints and the image label.
ARG VERSION=dev

# ---- build ----------------------------------------------------------------
# The build stage runs on the builder's own platform and cross-compiles for
# the target one, so multi-platform builds (docker buildx --platform ...) need
# no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src

# Dependencies first, in a layer of their own: it is rebuilt only when go.mod
# or go.sum change, not on every source edit.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY cmd ./cmd
COPY internal ./internal

# No cgo (a fully static binary that needs no libc), no local paths in the
# binary, no symbol table or DWARF, and the release stamped in for
# `lxc-manager version`. The cache mount only speeds up rebuilds; it never
# ends up in an image layer.
ARG TARGETOS
ARG TARGETARCH
ARG VERSION
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/lxc-manager ./cmd/lxc-manager

# ---- run ------------------------------------------------------------------
# distroless/static brings CA certificates (used to verify PVE when neither a
# fingerprint nor a CA file is configured, and for rediss://), tzdata and an
# /etc/passwd with the nonroot user; nothing else.
FROM gcr.io/distroless/static-debian12:nonroot

ARG VERSION
LABEL org.opencontainers.image.title="LXC Manager" \
      org.opencontainers.image.description="Web dashboard for the LXC containers of a Proxmox VE cluster" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=build /out/lxc-manager /usr/local/bin/lxc-manager

# Inside a container the dashboard must listen on all interfaces, or the
# published port cannot reach it (the binary's own default is 127.0.0.1:3001).
# Publish the port on the host's loopback only and let the TLS proxy reach it.
# /metrics has a listener of its own, by default on the container's loopback
# (127.0.0.1:9101), out of reach: set METRICS_ADDR=0.0.0.0:9101, as
# deploy/compose.yaml does, and publish that port on an internal address only.
ENV LISTEN_ADDR=0.0.0.0:3001
EXPOSE 3001

# Numeric, so that orchestrators can check "runs as non-root" without
# reading /etc/passwd. The dashboard writes nothing to disk: run the
# container with a read-only root file system.
USER 65532:65532

# No HEALTHCHECK: the image has no shell, curl or wget to run one, on purpose.
# Probe the dashboard over HTTP from outside instead:
#   GET /healthz  200 "ok" while the process is serving (liveness)
#   GET /readyz   200 {"status":"ok"} only while Redis and Proxmox VE answer,
#                 else 503 {"status":"unavailable","down":[...]} (readiness;
#                 do not restart on it, a PVE outage is not cured by restarts)
# e.g. Kubernetes httpGet probes, or the health check of the load balancer.

# SIGTERM makes the dashboard finish requests in flight, end the live-update
# streams and exit within 15 s; give it 20 s before a SIGKILL
# (docker stop -t 20, compose stop_grace_period: 20s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/lxc-manager"]
CMD ["serve"]
