# syntax=docker/dockerfile:1
# One image for every role: SERVICES=... picks the services a container runs (k8s/ sets it per Deployment).
# Build: docker build -t cameo:0.1.0 .

# All dependencies, for the build (tsc, vite). Install scripts stay off: nothing the build runs needs one (esbuild and
# rollup find their platform binaries without them), and the lockfile alone decides what is installed.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM deps AS build
COPY . .
RUN npm run build

# Production dependencies only, installed apart so no dev package reaches the runtime image. re2 (lorebook keys that
# are regular expressions, matched in linear time) is the one native addon built here: its install script would try
# to download a prebuilt binary first; the compiler stays in this stage.
FROM node:20-bookworm-slim AS prod-deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild re2 --foreground-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the app: the process only reads its code (k8s also mounts the root read-only).
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# "type": "module" here is what makes Node load dist/ as ESM.
COPY package.json ./
USER node
# REST gateway, WebSocket, gRPC delivery, health and metrics.
EXPOSE 8000 8004 50051 9090
# For `docker run`; Kubernetes ignores it and uses the probes in k8s/.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
	CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTH_PORT || 9090) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
