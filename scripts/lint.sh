#!/bin/sh
# Static analysis of the product code (src/, include/): cppcheck errors and warnings, and
# flawfinder hits of level 4 or 5, fail the run. Installs the tools when missing.
set -e
cd "$(dirname "$0")/.."
for tool in cppcheck flawfinder; do
    command -v $tool >/dev/null 2>&1 || {
        SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $tool >&2
    }
done
echo "lint: cppcheck" >&2
cppcheck -q --error-exitcode=1 --enable=warning,portability --inline-suppr --std=c11 \
    -D__GNUC__ -I include -I src src include
echo "lint: flawfinder (level >= 4 fails)" >&2
flawfinder --quiet --dataonly --minlevel=4 --error-level=4 src include
