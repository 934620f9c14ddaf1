#!/usr/bin/env bash
# Installs whatever is missing to run Korus (default) or its whole test suite (--test) on Debian 12 / Ubuntu with
# Node >= 20, as root: Debian packages via apt, npm dependencies, the build, and the kurento-client test package.
# --bench adds what bench/outside needs beyond a run set-up: a C compiler for its load generator and rtpengine-daemon
# as the comparison peer (bench-only: never a test dependency; bench/outside runs it itself, the systemd unit stays
# stopped and disabled).
# Idempotent: a second run only checks. Used by the README's two commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=run
[ "${1:-}" = "--test" ] && mode=test
[ "${1:-}" = "--bench" ] && mode=bench

log() { printf '[setup] %s\n' "$*"; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "Korus needs Node.js >= 20 (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# Debian packages. Runtime: the toolchain for native addons and the codec libraries (Opus, AMR-NB/WB; FFmpeg 5.1's
# libavcodec/libavformat/libswscale, libvpx and libx264 for video).
# Tests add the real peers: Chromium, SIPp, baresip, ffmpeg, PostgreSQL, and iproute2/util-linux for
# loopback-only network namespaces.
pkgs=(python3 make g++ pkg-config libopus-dev libopencore-amrnb-dev libopencore-amrwb-dev libvo-amrwbenc-dev
  libavcodec-dev libavformat-dev libswscale-dev libavutil-dev libvpx-dev libx264-dev)
if [ "$mode" = test ]; then
  pkgs+=(chromium ffmpeg sip-tester baresip postgresql iproute2 util-linux procps)
fi
if [ "$mode" = bench ]; then
  pkgs+=(gcc libc6-dev rtpengine-daemon)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# node-gyp builds offline against the system's Node headers (libraries.md §2).
if [ -f /usr/include/node/node_api.h ]; then
  export npm_config_nodedir=/usr
fi

stamp=node_modules/.korus-install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

# The N-API codec addons (Opus, AMR-NB/WB: media/codecs/native/; video: media/codecs/video/native/), built
# offline against the system's Node headers.
log "codec addons"
npm run --silent build:native

log "build"
npm run --silent build

if [ "$mode" = bench ] && command -v systemctl >/dev/null 2>&1; then
  # The package's unit would hold ports and CPU during the benchmark; bench/outside starts its own daemon.
  systemctl disable --now rtpengine-daemon.service >/dev/null 2>&1 || true
fi

if [ "$mode" = test ]; then
  kc=test/kurento-client
  if [ -f "$kc/package.json" ]; then
    kstamp=$kc/node_modules/.korus-install-stamp
    if [ ! -f "$kstamp" ] || [ "$kc/package-lock.json" -nt "$kstamp" ]; then
      log "kurento-client test package"
      (cd "$kc" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
      touch "$kstamp"
    fi
  fi
fi
log "ready ($mode)"
