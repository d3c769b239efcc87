# syntax=docker/dockerfile:1
#
# synclayer in a container: a static binary on distroless/static, run as
# the image's non-root user, with its state under the /data volume.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t synclayer .
#   docker run -v synclayer-data:/data -v ./deploy/synclayer.compose.yaml:/etc/synclayer/synclayer.yaml:ro \
#     --env-file .env -p 443:8443 -p 80:8080 synclayer
#
# docs/production.md describes it with docker-compose.yml beside it.

FROM golang:1.26 AS build
WORKDIR /src
# The module cache is its own layer: it changes with go.mod, not the code.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION is what synclayer --version prints. The build context has no .git
# (see .dockerignore), so Go cannot stamp the commit itself: give the
# output of git describe, which names it.
ARG VERSION=dev
# CGO_ENABLED=0: SQLite is modernc.org/sqlite, pure Go, so the binary needs
# no libc and runs on an image without one.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/synclayer ./cmd/synclayer \
 && mkdir -p /out/data

# distroless/static holds CA certificates (for Brevo, Klaviyo, Mailchimp and
# the ACME CA), tzdata and a nonroot user (65532), and no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/synclayer /usr/local/bin/synclayer
# An empty /data owned by nonroot, so a new named volume is writable.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
VOLUME /data
# 8443: HTTPS (server.listen), 8080: the ACME challenges and the redirect
# (server.tls.http_listen), or plain HTTP behind a proxy. Unprivileged
# ports, so the non-root user needs no capability; map 443 and 80 to them.
EXPOSE 8443 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/synclayer", "healthcheck", "--config", "/etc/synclayer/synclayer.yaml"]
ENTRYPOINT ["/usr/local/bin/synclayer"]
CMD ["serve", "--config", "/etc/synclayer/synclayer.yaml"]
