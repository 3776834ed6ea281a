# huddle images, all from Debian 12 packages: one Dockerfile, one target per
# service of docker-compose.yml (fcgi, sidecar, nginx, redis, coturn).
#   docker compose build
# The packages each image installs come from scripts/packages.txt (the list
# scripts/deps.sh reads too), through scripts/packages.sh --install ROLE.
# Every image runs as the unprivileged user huddle (uid 10001) and starts
# through docker/entrypoint.sh, which reads secrets, makes the self-signed
# certificate when none is mounted, and renders the configs.

# ---- build: compiles huddle-fcgi and huddle-sidecar, bundles the page ----
FROM debian:12-slim AS build
COPY scripts/packages.sh scripts/packages.txt /usr/local/share/huddle/scripts/
RUN /usr/local/share/huddle/scripts/packages.sh --install build
WORKDIR /src
COPY CMakeLists.txt ./
COPY common common
COPY fcgi fcgi
COPY sidecar sidecar
COPY tests/unit tests/unit
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHUDDLE_TESTS=OFF \
    && cmake --build build -j"$(nproc)" --target huddle-fcgi huddle-sidecar
COPY public public
COPY scripts/assets.sh scripts/
RUN scripts/assets.sh

# ---- base: what every runtime image shares ------------------------------
FROM debian:12-slim AS base
COPY scripts/packages.sh scripts/packages.txt scripts/self-signed-cert.sh \
    /usr/local/share/huddle/scripts/
RUN groupadd --system --gid 10001 huddle \
    && useradd --system --uid 10001 --gid huddle --no-create-home \
        --home-dir /var/lib/huddle --shell /usr/sbin/nologin huddle \
    && install -d -o huddle -g huddle -m 0700 /var/lib/huddle \
        /var/lib/huddle/secrets /var/lib/huddle/tls /var/lib/huddle/redis \
    && install -d -o huddle -g huddle -m 0750 /run/huddle \
    && install -d -o huddle -g huddle -m 0700 /run/huddle-redis
# Redis' Unix socket, in a volume only Redis and the sidecars mount.
ENV HUDDLE_REDIS_SOCKET=/run/huddle-redis/redis.sock
COPY docker/entrypoint.sh /usr/local/bin/huddle-entrypoint
COPY docker/healthcheck.sh /usr/local/bin/huddle-healthcheck
ENTRYPOINT ["huddle-entrypoint"]

# ---- fcgi: the room pages, on a unix socket shared with nginx ------------
FROM base AS fcgi
RUN /usr/local/share/huddle/scripts/packages.sh --install fcgi
COPY --from=build /src/build/fcgi/huddle-fcgi /usr/local/bin/huddle-fcgi
COPY views /usr/local/share/huddle/views
ENV HUDDLE_FCGI_LISTEN=/run/huddle/fcgi.sock \
    HUDDLE_VIEWS_DIR=/usr/local/share/huddle/views
USER huddle
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
    CMD ["huddle-healthcheck", "fcgi"]
CMD ["fcgi"]

# ---- sidecar: websocket signalling, scalable -----------------------------
FROM base AS sidecar
RUN /usr/local/share/huddle/scripts/packages.sh --install sidecar
COPY --from=build /src/build/sidecar/huddle-sidecar /usr/local/bin/huddle-sidecar
# Its entrypoint checks the TURN secret by coturn's rule (render-coturn.sh).
COPY scripts/render-coturn.sh /usr/local/share/huddle/scripts/
ENV HUDDLE_LISTEN=0.0.0.0:8081
USER huddle
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
    CMD ["huddle-healthcheck", "sidecar"]
CMD ["sidecar"]

# ---- nginx: TLS, static files, the proxy to fcgi and the sidecars --------
FROM base AS nginx
RUN /usr/local/share/huddle/scripts/packages.sh --install nginx \
    && rm -rf /etc/nginx/sites-enabled/*
COPY --from=build /src/public /usr/local/share/huddle/public
COPY nginx /usr/local/share/huddle/nginx
COPY scripts/render-nginx.sh /usr/local/share/huddle/scripts/
USER huddle
EXPOSE 8080 8443
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
    CMD ["huddle-healthcheck", "nginx"]
CMD ["nginx"]

# ---- redis: shared rooms between sidecars, on a socket, password on -----
FROM base AS redis
RUN /usr/local/share/huddle/scripts/packages.sh --install redis
USER huddle
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
    CMD ["huddle-healthcheck", "redis"]
CMD ["redis"]

# ---- coturn: TURN relay with short-lived credentials ---------------------
FROM base AS coturn
RUN /usr/local/share/huddle/scripts/packages.sh --install coturn
COPY scripts/render-coturn.sh /usr/local/share/huddle/scripts/
USER huddle
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
    CMD ["huddle-healthcheck", "coturn"]
CMD ["coturn"]
