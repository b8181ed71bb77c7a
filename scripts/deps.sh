#!/bin/sh
# Installs the Debian packages glassbox needs to build, test and run its demo.
# Idempotent and quiet when everything is present. Uses sudo when not root.
set -e
PKGS="build-essential libcjson-dev zlib1g-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing$missing" >&2
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >&2
fi
# The tokenizer oracle (OpenAI's tiktoken and JS ports, pinned in tests/ref/gpt2): optional,
# the live test skips without it; never fails the script (e.g. offline).
ORACLE="$(dirname "$0")/../tests/ref/gpt2"
if command -v npm >/dev/null 2>&1 && [ ! -d "$ORACLE/node_modules" ]; then
    npm ci --silent --prefix "$ORACLE" >/dev/null 2>&1 ||
        echo "deps: npm ci in tests/ref/gpt2 failed (offline?); the live tokenizer oracle test will skip" >&2
fi
