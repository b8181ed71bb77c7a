#!/bin/sh
# The README's main job on the bundled data: train a byte-level BPE tokenizer on the King
# James Bible, encode the corpus into token shards, train a small transformer on them,
# print a generated sample and the final validation loss next to the unigram entropy.
set -e
cd "$(dirname "$0")/.."
RUN=${RUN:-run/demo}
GLASSBOX=${GLASSBOX:-./glassbox}   # another build: GLASSBOX=build-x/glassbox sh scripts/demo.sh
mkdir -p "$RUN"
echo "== glassbox tokenizer train: vocabulary of 8192 on the King James Bible"
"$GLASSBOX" tokenizer train --vocab-size 8192 --input data/corpora/kjv.txt.gz --output "$RUN/tok.json"
echo
echo "== a verse through the tokenizer"
verse="In the beginning God created the heaven and the earth."
ids=$(printf '%s' "$verse" | "$GLASSBOX" tokenizer encode --tokenizer "$RUN/tok.json")
echo "text:  $verse"
echo "ids:   $ids"
echo "back:  $(echo "$ids" | "$GLASSBOX" tokenizer decode --tokenizer "$RUN/tok.json")"
echo
echo "== glassbox data prepare: token shards for training"
"$GLASSBOX" data prepare --tokenizer "$RUN/tok.json" --input data/corpora/kjv.txt.gz --out "$RUN/data"
echo
echo "== glassbox data stats: the unigram baseline (a model that ignores context)"
"$GLASSBOX" data stats "$RUN/data"
echo
# A llama-style model of 7.3M parameters (4 layers, d_model 256, 4 query / 2 key-value heads of
# 64, d_ff 768; 2.1M of them in each of the 8192-row embedding and output matrices), 200 steps
# of 16 x 128 tokens (0.46 epoch): about 2 minutes on 2 free cores. Every weight row (256 or 768
# long) is a multiple of 256, so `glassbox quantize --type q4_k` makes every matrix Q4_K (with
# the 8C/3 default, d_ff 704, ffn_down would fall back to Q8_0).
echo "== glassbox train: a 7.3M-parameter llama-style model on the KJV shards"
rm -rf "$RUN/train"
"$GLASSBOX" train --data "$RUN/data" --tokenizer "$RUN/tok.json" --out "$RUN/train" \
    --arch llama --n-layer 4 --d-model 256 --n-head 4 --n-kv-head 2 --d-ff 768 --ctx 128 \
    --seq 128 --batch 16 --steps 200 --lr 2e-3 --warmup 20 --eval-every 100 --eval-batches 20 \
    --ckpt-every 100
echo
echo "== glassbox sample: greedy, then temperature 0.8"
"$GLASSBOX" sample -m "$RUN/train/ckpt.gguf" -p "And God said" -n 40 --temperature 0
"$GLASSBOX" sample -m "$RUN/train/ckpt.gguf" -p "And it came to pass" -n 40 --temperature 0.8 --seed 1
echo
echo "== result"
val=$(tail -n 1 "$RUN/train/log.csv" | cut -d, -f3)
ent=$("$GLASSBOX" data stats "$RUN/data" --json | sed 's/.*"val_unigram_entropy_nats":\([0-9.]*\).*/\1/')
echo "final val loss      $val nats/token"
echo "val unigram entropy $ent nats/token"
echo "files: $RUN/train/ckpt.gguf (checkpoint), model.gguf, log.csv, loss.svg"
