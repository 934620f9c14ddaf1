# Korus in a container (README "Operating Korus" › Packaging).
#
#   docker build -t korus .
#   docker run --rm --network host -v korus-data:/var/lib/korus korus
#
# Media needs UDP ports that peers can reach: `--network host` is simplest; otherwise publish the HTTP/WebSocket
# port, the SIP port and the RTP range (e.g. -p 8888:8888 -p 5060:5060/udp -p 40000-40999:40000-40999/udp with
# KORUS_RTP_MIN/MAX to match) and set webrtc.externalIPv4 / webrtc.interfaces in the configuration.

# ---- build stage: the toolchain, the codec headers, the N-API addons (codecs, better-sqlite3) and the build
FROM node:20-bookworm AS build
ENV DEBIAN_FRONTEND=noninteractive
# The packages of scripts/setup.sh (run mode): the addon toolchain and the codec libraries' headers.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 make g++ pkg-config \
      libopus-dev libopencore-amrnb-dev libopencore-amrwb-dev libvo-amrwbenc-dev \
      libavcodec-dev libavformat-dev libswscale-dev libavutil-dev libvpx-dev libx264-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN npm run build:native && npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime stage: Node, the codec runtime libraries, ffmpeg (recording finalisation) and the built tree
FROM node:20-bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libopus0 libopencore-amrnb0 libopencore-amrwb0 libvo-amrwbenc0 \
      libavcodec59 libavformat59 libswscale6 libavutil57 libvpx7 libx264-164 ffmpeg tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/korus
COPY --from=build /build/package.json /build/package-lock.json ./
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY --from=build /build/config ./config
# The admin console's page and scripts are served from the source tree (src/admin/static.ts), not from dist.
COPY --from=build /build/src/admin/ui ./src/admin/ui
COPY --from=build /build/media/codecs/native/build/Release/*.node ./media/codecs/native/build/Release/
COPY --from=build /build/media/codecs/video/native/build/Release/*.node ./media/codecs/video/native/build/Release/
RUN ln -s /opt/korus/dist/src/cli.js /usr/local/bin/korus \
 && mkdir -p /var/lib/korus /etc/korus \
 && cp config/default.yaml /etc/korus/korus.yaml \
 && chown -R node:node /var/lib/korus
# Non-root: the image's `node` user (uid 1000). Ports below 1024 need CAP_NET_BIND_SERVICE; the defaults are above.
USER node
ENV NODE_ENV=production KORUS_DATA_DIR=/var/lib/korus
VOLUME ["/var/lib/korus"]
# HTTP/WebSocket (Kurento JSON-RPC, /health, /metrics), SIP, and the default RTP range.
EXPOSE 8888/tcp 5060/udp 5060/tcp 40000-49999/udp
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "const t=process.env.KORUS_METRICS_TOKEN;fetch('http://127.0.0.1:'+(process.env.KORUS_WS_PORT||8888)+'/health',{headers:t?{authorization:'Bearer '+t}:{}}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# tini forwards SIGTERM to Node, which drains (ends calls, releases pipelines) before it exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/korus/dist/src/cli.js"]
CMD ["start", "--config", "/etc/korus/korus.yaml"]
