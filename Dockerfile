# orderly's image: both binaries, the migrations and the SQL-defined projections. Stage 1
# builds on Debian 12 with the same package list and meson path as scripts/run
# (scripts/lib.sh); stage 2 is debian:12-slim plus
# the four runtime libraries, run as a non-root user.

FROM debian:12 AS build
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
WORKDIR /src
# lib.sh alone first, so the package layer is cached until the package list changes.
COPY scripts/lib.sh scripts/lib.sh
RUN . scripts/lib.sh && orderly_ensure_packages "${ORDERLY_RUN_PACKAGES[@]}"
COPY . .
RUN rm -rf build* .run \
    && . scripts/lib.sh \
    && orderly_build build-release --buildtype=release \
    && install -D -m 0755 build-release/command-service/command-service /out/usr/local/bin/command-service \
    && install -D -m 0755 build-release/query-service/query-service /out/usr/local/bin/query-service \
    && install -D -m 0755 scripts/healthcheck /out/usr/local/bin/orderly-healthcheck \
    && install -d /out/usr/share/orderly \
    && cp -r migrations /out/usr/share/orderly/migrations \
    && cp -r projections /out/usr/share/orderly/projections

FROM debian:12-slim AS runtime
# Only what the binaries link (tests/integration/test_ops_compose.py checks this list against
# the binaries' NEEDED entries).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       libmicrohttpd12 libjansson4 libpq5 libsodium23 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin orderly
COPY --from=build /out/ /
ENV MIGRATIONS_DIR=/usr/share/orderly/migrations \
    BIND_ADDRESS=0.0.0.0 \
    LOG_FORMAT=json
USER orderly:orderly
EXPOSE 8081 8082
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["orderly-healthcheck", "/readyz"]
# `command-service`, `command-service migrate` or `query-service` (see docker-compose.yml).
CMD ["command-service"]
