// Writes the golden vectors for text.txt (run make-text.mjs first):
//   text.r50k.ids      GPT-2 / r50k_base ids from tiktoken (WASM), encode_ordinary
//   text.cl100k.ids    cl100k_base ids, the same way
//   text.gpt2.pieces   byte length of each GPT-2 pre-token piece, one per line
//   text.cl100k.pieces the same for the cl100k pattern
// and prints where js-tiktoken and gpt-tokenizer differ from tiktoken. Exits non-zero if
// the pieces disagree with tiktoken's ids (see oracle.mjs).
//
// Usage: (cd tests/ref/gpt2 && npm ci && node make-text.mjs && node make-golden.mjs)
import fs from "fs";
import path from "path";
import { fileURLToPath } from "url";
import { oracle } from "./oracle.mjs";
import { piecesFile } from "./pieces.mjs";

const dir = path.dirname(fileURLToPath(import.meta.url));
const text = fs.readFileSync(path.join(dir, "text.txt"), "utf8");
const r = oracle(text);

// Whitespace-separated decimal ids, 20 per line.
function idsFile(ids) {
  const lines = [];
  for (let i = 0; i < ids.length; i += 20) lines.push(ids.slice(i, i + 20).join(" "));
  return lines.join("\n") + "\n";
}
fs.writeFileSync(path.join(dir, "text.r50k.ids"), idsFile(r.ids.r50k_base));
fs.writeFileSync(path.join(dir, "text.cl100k.ids"), idsFile(r.ids.cl100k_base));
fs.writeFileSync(path.join(dir, "text.gpt2.pieces"), piecesFile(r.pieces.gpt2));
fs.writeFileSync(path.join(dir, "text.cl100k.pieces"), piecesFile(r.pieces.cl100k));
console.log(`make-golden: ${Buffer.byteLength(text)} bytes; r50k ${r.ids.r50k_base.length} ids, ` +
  `cl100k ${r.ids.cl100k_base.length} ids; pieces gpt2 ${r.pieces.gpt2.length}, cl100k ${r.pieces.cl100k.length}`);
for (const d of r.diffs) console.log("  " + d);
if (!r.diffs.length) console.log("  js-tiktoken and gpt-tokenizer agree with tiktoken");
for (const p of r.problems) console.error("make-golden: PIECES DISAGREE: " + p);
process.exit(r.problems.length ? 1 : 0);
