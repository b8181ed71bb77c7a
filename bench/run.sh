#!/bin/sh
# Every benchmark, one after another (make bench).
set -e
cd "$(dirname "$0")/.."
sh bench/tokenizer/train.sh
sh bench/tokenizer/encode.sh
sh bench/train/run.sh
sh bench/quant/run.sh
sh bench/infer/run.sh
