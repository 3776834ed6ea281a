# huddle images, all from Debian 12 (the same packages as `make run`):
#   docker compose build     builds the targets fcgi, sidecar and nginx below
# One build stage compiles both programs; each runtime stage holds one of
# them and only the shared libraries it needs.
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config libfcgi-dev uuid-dev libcjson-dev \
        libssl-dev libwebsockets-dev libuv1-dev libhiredis-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY common common
COPY fcgi fcgi
COPY sidecar sidecar
COPY tests/unit tests/unit
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    && cmake --build build -j"$(nproc)" --target huddle-fcgi huddle-sidecar

FROM debian:12-slim AS fcgi
RUN apt-get update && apt-get install -y --no-install-recommends \
        libfcgi0ldbl libuuid1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/fcgi/huddle-fcgi /usr/local/bin/huddle-fcgi
COPY views /srv/huddle/views
ENV HUDDLE_FCGI_LISTEN=0.0.0.0:9000 HUDDLE_VIEWS_DIR=/srv/huddle/views
USER nobody
EXPOSE 9000
CMD ["huddle-fcgi"]

FROM debian:12-slim AS sidecar
RUN apt-get update && apt-get install -y --no-install-recommends \
        libwebsockets17 libwebsockets-evlib-uv libuv1 libhiredis0.14 \
        libcjson1 libssl3 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/sidecar/huddle-sidecar /usr/local/bin/huddle-sidecar
ENV HUDDLE_LISTEN=0.0.0.0:8081
USER nobody
EXPOSE 8081
CMD ["huddle-sidecar"]

FROM debian:12-slim AS nginx
RUN apt-get update && apt-get install -y --no-install-recommends nginx-light \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/*
COPY public /srv/huddle/public
COPY nginx/huddle-locations.conf /etc/nginx/huddle-locations.conf
COPY nginx/docker.conf /etc/nginx/nginx.conf
EXPOSE 8080
CMD ["nginx", "-e", "stderr", "-c", "/etc/nginx/nginx.conf"]
