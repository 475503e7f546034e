# reconcile's image, for running `watch --once --correct` as a scheduled
# task (ECS on Fargate started by EventBridge Scheduler; see the README's
# "Running a fleet").
#
#   docker build -t reconcile .
#   docker run --rm reconcile --version
#
# Stage 1 builds the release binary; stage 2 is a small Debian with only the
# CA certificates the SDK's TLS (rustls with the system's roots) needs.

FROM docker.io/library/rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The registry and target caches survive between builds (BuildKit, buildah).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin reconcile \
    && cp target/release/reconcile /reconcile \
    && strip /reconcile

FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /reconcile /usr/local/bin/reconcile
# Not root; the fleet's desired states are baked into an image built FROM
# this one (see the README), local states are never used by a fleet.
RUN useradd --system --uid 10001 --home-dir /fleet reconcile \
    && mkdir -p /fleet && chown reconcile /fleet
USER reconcile
WORKDIR /fleet
ENTRYPOINT ["reconcile"]
CMD ["watch", "--once", "--correct", "--fleet", "/fleet/fleet.toml"]
