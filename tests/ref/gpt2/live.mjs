// Live re-check for tests/tokenizer/test_pretok.c: makes a fresh random sample, splits it
// with the oracle's patterns, checks the pieces against tiktoken's ids, and writes
//   OUTDIR/sample.txt, sample.gpt2.pieces, sample.cl100k.pieces (byte lengths, one a line),
//   sample.r50k.ids, sample.cl100k.ids (tiktoken, encode_ordinary)
// Exits 1 (with the reason on stderr) if the pieces disagree with tiktoken.
//
// Usage: node tests/ref/gpt2/live.mjs SEED OUTDIR [BYTES]
import fs from "fs";
import path from "path";
import { makeSample } from "./make-text.mjs";
import { oracle } from "./oracle.mjs";
import { piecesFile } from "./pieces.mjs";

const [seed, dir, bytes] = [Number(process.argv[2]), process.argv[3], Number(process.argv[4] || 16384)];
if (!Number.isFinite(seed) || !dir) {
  console.error("usage: node live.mjs SEED OUTDIR [BYTES]");
  process.exit(2);
}
const text = makeSample(seed, bytes);
const r = oracle(text, false);
fs.writeFileSync(path.join(dir, "sample.txt"), text);
fs.writeFileSync(path.join(dir, "sample.gpt2.pieces"), piecesFile(r.pieces.gpt2));
fs.writeFileSync(path.join(dir, "sample.cl100k.pieces"), piecesFile(r.pieces.cl100k));
fs.writeFileSync(path.join(dir, "sample.r50k.ids"), r.ids.r50k_base.join(" ") + "\n");
fs.writeFileSync(path.join(dir, "sample.cl100k.ids"), r.ids.cl100k_base.join(" ") + "\n");
for (const p of r.problems) console.error("live.mjs: " + p);
process.exit(r.problems.length ? 1 : 0);
