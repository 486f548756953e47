# romtrack as a container: FastCGI on 0.0.0.0:9000, behind the nginx service of docker-compose.yml.
# script/check-docker-build runs these steps without Docker (in throw-away Debian 12 roots) and checks the result.
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libfcgi-dev libpq-dev libjansson-dev libyaml-dev libxml2-dev libsodium-dev libcurl4-openssl-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The program only: the tests need Python, PostgreSQL and nginx, which this stage does not have.
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
 && cmake --build build -j"$(nproc)" --target romtrack

FROM debian:12
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libfcgi0ldbl libpq5 libjansson4 libyaml-0-2 libxml2 libsodium23 libcurl4 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin romtrack
COPY --from=build /src/build/romtrack /usr/local/bin/romtrack
COPY sql/ /usr/local/share/romtrack/sql/
COPY openapi.yaml /usr/local/share/romtrack/openapi.yaml
COPY conf/romtrack.docker.yaml /etc/romtrack/romtrack.yaml
COPY data/sample/ /usr/local/share/romtrack/sample/
ENV ROMTRACK_CONFIG=/etc/romtrack/romtrack.yaml
USER romtrack
EXPOSE 9000
STOPSIGNAL SIGTERM
# Bring the schema up to date, then serve in the foreground (PID 1 via exec, so SIGTERM reaches romtrack).
CMD ["sh", "-c", "romtrack migrate && exec romtrack serve"]
