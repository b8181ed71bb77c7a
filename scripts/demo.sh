#!/bin/sh
# The README's main job on the bundled data: train a byte-level BPE tokenizer on the King
# James Bible, show what it learned, and encode the corpus into token shards.
set -e
cd "$(dirname "$0")/.."
RUN=${RUN:-run/demo}
mkdir -p "$RUN"
echo "== glassbox tokenizer train: vocabulary of 8192 on the King James Bible"
./glassbox tokenizer train --vocab-size 8192 --input data/corpora/kjv.txt.gz --output "$RUN/tok.json"
echo
echo "== a verse through the tokenizer"
verse="In the beginning God created the heaven and the earth."
ids=$(printf '%s' "$verse" | ./glassbox tokenizer encode --tokenizer "$RUN/tok.json")
echo "text:  $verse"
echo "ids:   $ids"
echo "back:  $(echo "$ids" | ./glassbox tokenizer decode --tokenizer "$RUN/tok.json")"
echo
echo "== glassbox data prepare: token shards for training"
./glassbox data prepare --tokenizer "$RUN/tok.json" --input data/corpora/kjv.txt.gz --out "$RUN/data"
