# syntax=docker/dockerfile:1
# One image for every orderpulse process (workers, feed, simulator, web): the
# docker-compose.yml services differ only in the npm script they run.

# Dependencies, with the dev tools `next build` needs.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# The Next.js production build.
FROM deps AS build
COPY tsconfig.json next.config.ts ./
COPY app ./app
COPY lib ./lib
COPY workers ./workers
RUN npm run build

# Runtime dependencies only (tsx runs the workers' TypeScript as in development).
FROM node:20-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Slim runtime, as the unprivileged `node` user; the lake volume is owned by it.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json tsconfig.json next.config.ts .env.example ./
COPY app ./app
COPY lib ./lib
COPY workers ./workers
COPY scripts/kafka ./scripts/kafka
COPY --from=build /app/.next ./.next
RUN mkdir -p /app/lake && chown node:node /app/lake
USER node
CMD ["npm", "run", "start"]
