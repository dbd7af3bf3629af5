#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the Playwright browser tests (tests/service).
# Idempotent: does nothing when /usr/bin/chromium exists. Never downloads Playwright's own
# browsers (`playwright install` needs the network); the tests launch /usr/bin/chromium.
set -euo pipefail
CHROMIUM="${TAMIS_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "ensure-chromium: $CHROMIUM is missing; install it as root: apt-get install -y chromium" >&2
        exit 1
    fi
fi
echo "ensure-chromium: installing Debian's chromium (for the browser tests)" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
test -x "$CHROMIUM"
