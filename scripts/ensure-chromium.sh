#!/usr/bin/env bash
# Debian's chromium for the browser tests (driven by the Python `playwright` package with
# executable_path=/usr/bin/chromium). Playwright's own browser download is never used.
# Installs chromium as root on Debian when missing. Idempotent; one line on failure.
set -euo pipefail

bin=${ASSESS_CHROMIUM:-/usr/bin/chromium}
if [ -x "$bin" ]; then
  echo "ensure-chromium: $("$bin" --version 2>/dev/null || echo "$bin")"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $bin is missing and only root on Debian can install it (apt-get install chromium)" >&2
  exit 1
fi
echo "ensure-chromium: installing chromium from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
[ -x "$bin" ] || { echo "ensure-chromium: installed, but $bin is still missing" >&2; exit 1; }
echo "ensure-chromium: $("$bin" --version 2>/dev/null || echo "$bin")"
