# hexyard's image: built in one stage, run from a small Debian one as a non-root user.
#   docker build -t hexyard .
#   docker run -p 4000:4000 -e HEXYARD_DATABASE_URL=postgres://… -v hexyard:/data hexyard
# (docker-compose.yml runs it with Postgres and MinIO.)

FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin hexyard \
 && strip target/release/hexyard

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home hexyard
COPY --from=build /src/target/release/hexyard /usr/local/bin/hexyard
USER hexyard
WORKDIR /data
ENV HEXYARD_LISTEN=0.0.0.0:4000 \
    HEXYARD_DATA_DIR=/data \
    HEXYARD_LOG_FORMAT=json
VOLUME /data
EXPOSE 4000
# ready only while the database answers (hexyard health asks GET /health on HEXYARD_LISTEN)
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["hexyard", "health"]
ENTRYPOINT ["hexyard"]
CMD ["serve"]
