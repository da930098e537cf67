# A STAND-IN for the official postgres:15 image, built by scripts/compose-test from Debian's
# postgresql-15 on the debian:12 image when no registry can supply the real one. Same PGDATA,
# VOLUME, stop signal, port and environment contract (see postgres-entrypoint); labelled
# org.orderly.standin=true so it is never mistaken for the official image.
FROM debian:12
LABEL org.orderly.standin=true \
      org.opencontainers.image.description="stand-in for postgres:15: Debian's postgresql-15"
# No cluster from the package's postinst: the entrypoint makes one in PGDATA.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
    && echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/orderly.conf \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
EXPOSE 5432
# Fast shutdown, as the official image: SIGTERM would wait for every client to disconnect.
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
