#!/usr/bin/env bash
# scripts/deps.sh - install yunling's Debian packages (idempotent, fast when
# everything is already there). Run as root on Debian 12.
set -euo pipefail

PKGS=(
    build-essential cmake pkg-config clang-format git curl ca-certificates
    ffmpeg libavformat-dev libavcodec-dev libavutil-dev libavfilter-dev
    libswscale-dev libswresample-dev
    libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libssl-dev
    libsqlite3-dev sqlite3 libjansson-dev
    libcmocka-dev libinih-dev libhttp-parser-dev libsodium-dev
    clang libclang-rt-14-dev cppcheck
    nodejs npm chromium
    libharfbuzz-bin woff2 fontconfig
    nginx-light wrk time jq gnuplot-nox
    faketime
    libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
    gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
    gstreamer1.0-libav
)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

# node and npm may come from elsewhere than Debian (a preinstalled node);
# do not fight a working toolchain.
if command -v node >/dev/null && command -v npm >/dev/null; then
    tmp=()
    for p in "${missing[@]}"; do
        case "$p" in nodejs|npm) ;; *) tmp+=("$p") ;; esac
    done
    missing=("${tmp[@]+"${tmp[@]}"}")
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all Debian packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]}; run as root" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# nginx from Debian starts itself on install; the bench runs its own.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
service nginx stop >/dev/null 2>&1 || true
