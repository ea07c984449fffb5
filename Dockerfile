# syntax=docker/dockerfile:1
# Ember as a container service. Build and run:
#   docker build -t ember .
#   docker run -d -p 127.0.0.1:6379:6379 -v ember-data:/data ember --maxmemory 256mb
# With podman, add `--format docker` to `podman build` so that HEALTHCHECK is
# kept (the OCI image format has no health check). docs/CONTAINER.md has more.

############################## build ##########################################
FROM rust:1-bookworm AS build
WORKDIR /src

# Release build without debug info, stripped (Cargo.toml keeps `debug = 1` for
# profiling on the host; the image has no use for it).
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=true \
    CARGO_TERM_COLOR=never \
    CARGO_TERM_PROGRESS_WHEN=never

# 1. Dependencies alone, in their own layer: rebuilt only when Cargo.toml,
#    Cargo.lock, build.rs or the C helper change. Dummy sources stand in for
#    src/ and the declared benches so that the manifest resolves (the bench
#    stand-ins stay: the real benches are not in the build context).
#    The crates come from the registry (crates.io); a cache mount keeps the
#    downloads between builds (BuildKit, podman/buildah).
COPY Cargo.toml Cargo.lock build.rs ./
COPY csrc csrc
RUN --mount=type=cache,id=ember-cargo-registry,target=/usr/local/cargo/registry \
    mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs \
 && : > src/lib.rs \
 && echo 'fn main() {}' > benches/core.rs \
 && cp benches/core.rs benches/zset.rs \
 && cargo build --release --locked --bin ember-server \
 && rm -rf src target/release/ember-server* \
           target/release/.fingerprint/ember-* \
           target/release/deps/ember* target/release/deps/libember*

# 2. Ember itself. The fingerprints of the dummy crate are gone above, so
#    cargo rebuilds it whatever the timestamps COPY gives the real sources.
COPY src src
RUN --mount=type=cache,id=ember-cargo-registry,target=/usr/local/cargo/registry \
    cargo build --release --locked --bin ember-server \
 && install -m 0755 target/release/ember-server /usr/local/bin/ember-server \
 && /usr/local/bin/ember-server --version

############################## runtime ########################################
FROM debian:bookworm-slim

# A fixed uid/gid (999, as the official Redis image uses) so that host
# directories can be prepared for bind mounts: `chown 999:999 ./data`.
RUN groupadd --system --gid 999 ember \
 && useradd --system --uid 999 --gid ember --home-dir /data --no-create-home \
            --shell /usr/sbin/nologin ember \
 && mkdir -p /data /etc/ember \
 && chown ember:ember /data

# CA certificates: the bundle alone, from the build stage (the Debian package
# would bring openssl, ~6 MB, and an apt run). Ember itself speaks no TLS yet;
# this is for whatever a derived image or a future TLS client side needs.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/local/bin/ember-server /usr/local/bin/ember-server
COPY conf/ember-container.conf /etc/ember/ember.conf
COPY scripts/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

# Plain log lines for `docker logs` and log collectors (no ANSI colours).
ENV NO_COLOR=1

USER ember:ember
WORKDIR /data
VOLUME /data
EXPOSE 6379

# SIGTERM is what Ember (like Redis) treats as "save if configured, then exit".
STOPSIGNAL SIGTERM

# PING through the binary itself (no redis-cli in the image). PONG, or NOAUTH
# when a password is set, is healthy. It reads the port from the default
# config path: when you run on another port, override the check
# (--health-cmd "ember-server --health-check --port 7000").
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["ember-server", "--health-check", "/etc/ember/ember.conf"]

ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["ember-server"]
