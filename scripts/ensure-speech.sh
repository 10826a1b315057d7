#!/bin/sh
# The spoken-digits dataset (`convzoo data get spoken-digits`) and its tests need Debian's espeak-ng
# speech synthesiser; install it if missing.
set -e
if command -v espeak-ng >/dev/null 2>&1; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's espeak-ng for the spoken-digits dataset"
    apt-get install -y -qq espeak-ng >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && apt-get install -y -qq espeak-ng >/dev/null; }
else
    echo "spoken-digits needs espeak-ng: install Debian's espeak-ng (apt-get install espeak-ng)" >&2
    exit 1
fi
