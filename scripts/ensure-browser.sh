#!/bin/sh
# The browser tests drive Debian's chromium through chromedriver; install both if missing.
set -e
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium and chromium-driver for the browser tests"
    apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver >/dev/null; }
else
    echo "the browser tests need chromium and chromedriver: install Debian's chromium and chromium-driver" >&2
    exit 1
fi
