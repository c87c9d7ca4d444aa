# syntax=docker/dockerfile:1
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
# tsc, then GraphQL Playground's prebuilt bundle copied from its devDependency into dist/vendor.
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# A heap cap makes V8 collect before RSS grows: without one, a 90 s soak over 1,000 instances
# reached 460 MiB RSS with 97 MiB live and still rising; with this cap the 10-minute soak levelled
# off at 270-295 MiB (docs/performance.md, Memory). The cap is what the caches may hold plus room
# to work: CACHE_MEMORY_MAX_BUCKETS x 1 KiB + RESPONSE_CACHE_MAX_BYTES + 128 MiB, rounded up to
# 64 MiB (256 with the defaults); raise it with those bounds.
ENV NODE_OPTIONS=--max-old-space-size=256
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
# dist/ holds the compiled gateway and dist/vendor (Playground's bundle; its package is dev-only).
COPY --from=build /app/dist ./dist
# Example operations preloaded in the explorer (when EXPLORER=true).
COPY schema ./schema
# The safelist of PERSISTED_QUERIES=safelist (npm run codegen writes it).
COPY generated/client/persisted-documents.json ./generated/client/persisted-documents.json
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/main.js"]
