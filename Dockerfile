# Builds a static tessbot binary and copies it into a distroless image that has CA
# certificates and time zone data, no shell, and runs as the unprivileged user nonroot
# (uid 65532).
#
#   docker build -t tessbot .
#   docker run --env-file tessbot.env -v tessbot-data:/data tessbot
#   docker run --env-file tessbot.env tessbot check

FROM golang:1.26 AS build
WORKDIR /src

# Download modules in their own layer, so that code changes do not download them again.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/tessbot . \
    && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tessbot /usr/local/bin/tessbot
# The embedded store lives in DATA_DIR. The directory belongs to nonroot, so that a new
# named volume mounted there starts with the same owner and the bot can write to it.
COPY --from=build --chown=65532:65532 /out/data /data
ENV DATA_DIR=/data
VOLUME ["/data"]
USER nonroot:nonroot
# Metrics and /healthz are served only when METRICS_ADDR is set, for example to :9090.
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/tessbot"]
