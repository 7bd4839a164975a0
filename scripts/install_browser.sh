#!/usr/bin/env bash
# Install headless Chromium + chromedriver (Debian packages) for the dashboard's browser test,
# and a small CJK font (WenQuanYi Micro Hei) so the zh-CN page renders in screenshots.
# Idempotent: does nothing when all are already installed. Needs root (or sudo) and apt.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
    && dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_browser.sh: root or sudo is required to install chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-wqy-microhei >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "install_browser.sh: chromium not found after install" >&2; exit 1; }
