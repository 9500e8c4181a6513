# syntax=docker/dockerfile:1
# The propeller's image: docker build -t propeller:0.1.0 .
#
# Base images are pinned by tag only. Their digests are NOT pinned here because they could not be
# verified from the (offline) workspace this file was written in, and an unverified digest is worse
# than none. The release pipeline must pin them, e.g. with
#   docker buildx imagetools inspect node:24.21.0-trixie-slim --format '{{json .Manifest.Digest}}'
# rewriting each FROM as name:tag@sha256:<digest> (and Renovate/Dependabot keeping them current).
# The build stages use Node 24.21.0, the version package.json pins for development.

# 1. Build: all dependencies, then tsc (tsconfig.build.json) into dist/.
FROM node:24.21.0-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the only install script is that of the `node` dev dependency, which downloads a
# second Node 24 for dev machines; this image has one already.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only, in a clean stage: no dev dependencies (typescript, the `node`
# package), no sources, no npm cache.
FROM node:24.21.0-trixie-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 3. Runtime: distroless Node 24 (no shell, no package manager), as the non-root user 65532.
FROM gcr.io/distroless/nodejs24-debian13:nonroot
LABEL org.opencontainers.image.title="propeller" \
      org.opencontainers.image.description="A Kubernetes operator that runs Flyte-style workflows." \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
# Distroless keeps node in /nodejs/bin; put it on PATH so the entrypoint can say `node`.
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# package.json is needed at run time: its "type": "module" makes dist/*.js ES modules.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Numeric, so Kubernetes can check runAsNonRoot. The files above are root-owned and read-only to it;
# the propeller writes nothing (it runs with readOnlyRootFilesystem; /tmp is an emptyDir).
USER 65532:65532
EXPOSE 10254
# Exec form: node is PID 1 and gets SIGTERM itself (it handles SIGTERM and SIGINT; see src/main.ts).
ENTRYPOINT ["node", "dist/main.js"]
