#!/bin/sh
# Installs the Debian packages glassbox needs to build, test and run its demo.
# Idempotent and quiet when everything is present. Uses sudo when not root.
set -e
PKGS="build-essential libcjson-dev zlib1g-dev libedit-dev libsimde-dev"
# `deps.sh bench`: also the peers the benchmarks run against (OpenBLAS, PyTorch, Node for tiktoken)
if [ "${1:-}" = bench ]; then
    PKGS="$PKGS libopenblas-dev python3-torch time"
    command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
fi
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
# The oracles that tests re-check against when present, pinned by package-lock.json files:
# OpenAI's tiktoken and its JS ports (tests/ref/gpt2) and a prebuilt llama.cpp/ggml
# (bench/quant). Optional: those tests skip without them; never fails the script (offline).
for dir in tests/ref/gpt2; do
    d="$(dirname "$0")/../$dir"
    if command -v npm >/dev/null 2>&1 && [ ! -d "$d/node_modules" ]; then
        npm ci --silent --prefix "$d" >/dev/null 2>&1 ||
            echo "deps: npm ci in $dir failed (offline?); the tests that use it will skip" >&2
    fi
done
# bench/quant: ggml's libraries and node-llama-cpp, llama.cpp's Node binding (the peer of
# bench/infer, the oracle of tests/infer/test_interop_llamacpp.c). `npm install --no-save`
# with the lock, not `npm ci`: the lock lists only those of node-llama-cpp's optional builds
# for other platforms that the registry had (some 3.22.1 ones were missing), and ci refuses
# it for that; its .npmrc omits those builds and the postinstall script (which would
# download or compile llama.cpp).
d="$(dirname "$0")/../bench/quant"
if command -v npm >/dev/null 2>&1 && [ ! -d "$d/node_modules/node-llama-cpp" ]; then
    NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --silent --no-save --no-audit --no-fund --prefix "$d" >/dev/null 2>&1 ||
        echo "deps: npm install in bench/quant failed (offline?); the tests that use it will skip" >&2
fi
