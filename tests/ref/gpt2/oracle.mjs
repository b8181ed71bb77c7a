// The oracle behind make-golden.mjs and live.mjs: encodes a text with OpenAI's tokenizer
// (the `tiktoken` npm package, a WASM build of OpenAI's Rust code), cross-checks the two
// pure-JavaScript ports (js-tiktoken, gpt-tokenizer), and splits the text into pre-token
// pieces (pieces.mjs), checking those pieces against tiktoken's ids.
import { get_encoding } from "tiktoken";
import { getEncoding } from "js-tiktoken";
import * as gtR50k from "gpt-tokenizer/encoding/r50k_base";
import * as gtCl100k from "gpt-tokenizer/encoding/cl100k_base";
import { split } from "./pieces.mjs";

// encoding name -> split pattern name
export const ENCODINGS = { r50k_base: "gpt2", cl100k_base: "cl100k" };

const tk = {}, jt = {};
function tiktokenFor(name) { return (tk[name] ??= get_encoding(name)); }
function jsTiktokenFor(name) { return (jt[name] ??= getEncoding(name)); }
const gt = { r50k_base: gtR50k, cl100k_base: gtCl100k };

// Ids of text with special-token text treated as ordinary text, per implementation.
export function encodeAll(name, text, ports = true) {
  const ids = { tiktoken: Array.from(tiktokenFor(name).encode_ordinary(text)) };
  if (!ports) return ids;
  return {
    ...ids,
    "js-tiktoken": jsTiktokenFor(name).encode(text, [], []),
    "gpt-tokenizer": gt[name].encode(text, { allowedSpecial: new Set(), disallowedSpecial: new Set() }),
  };
}

function tokenBytes(name, id) { return tiktokenFor(name).decode_single_token_bytes(id).length; }

// The regions where two id lists disagree: both lists are walked by byte offset, and a
// region ends where their token boundaries meet again. Each is shown as its text.
export function diffRegions(name, text, want, got, max = 1e9) {
  const buf = Buffer.from(text, "utf8"), out = [];
  let i = 0, j = 0, a = 0, b = 0;
  while (i < want.length && j < got.length && out.length < max) {
    if (want[i] === got[j] && a === b) { a += tokenBytes(name, want[i++]); b = a; j++; continue; }
    const start = a;
    do {
      if (a <= b) a += tokenBytes(name, want[i++]); else b += tokenBytes(name, got[j++]);
    } while (a !== b && i < want.length && j < got.length);
    out.push({ start, end: a, text: buf.subarray(start, a).toString("utf8") });
  }
  return out;
}

// Shows invisible and unusual characters as \u{...}.
export function visible(s) {
  return s.replace(/[^\x21-\x7e\p{L}\p{N}\p{M}\p{P}\p{S} ]/gu,
    (c) => `\\u{${c.codePointAt(0).toString(16).toUpperCase()}}`);
}

// A summary of the regions where `got` differs from tiktoken's `want`: how many involve
// the characters whose \s-ness JavaScript gets wrong (U+FEFF, U+0085), and the others.
export function describeDiff(name, text, want, got) {
  const buf = Buffer.from(text, "utf8");
  const regions = diffRegions(name, text, want, got).map((r) => {
    let s = r.start, e = r.end;
    while (s > 0 && (buf[s] & 0xc0) === 0x80) s--;
    while (e < buf.length && (buf[e] & 0xc0) === 0x80) e++;
    const ctx = buf.subarray(Math.max(0, s - 6), Math.min(buf.length, e + 6)).toString("utf8");
    return { at: r.start, text: buf.subarray(s, e).toString("utf8"), ctx };
  });
  const js = regions.filter((r) => /[\uFEFF\u0085]/.test(r.ctx));
  const other = regions.filter((r) => !/[\uFEFF\u0085]/.test(r.ctx));
  const show = (rs) => rs.slice(0, 6).map((r) => `byte ${r.at} ${visible(r.text)} in ${visible(r.ctx)}`).join("; ");
  let msg = `${regions.length} region(s) differ: ${js.length} at U+FEFF/U+0085`;
  if (js.length) msg += ` (${show(js.slice(0, 2))})`;
  msg += `, ${other.length} elsewhere`;
  if (other.length) msg += ` (${show(other)}${other.length > 6 ? "; ..." : ""})`;
  return msg;
}

// Checks pieces against tiktoken: every piece boundary is a token boundary, and encoding
// piece by piece gives the same ids as encoding the whole text. Returns problems found.
export function checkPieces(name, pieces, ids) {
  const problems = [];
  const enc = tiktokenFor(name);
  let k = 0;
  for (let p = 0; p < pieces.length && problems.length < 5; p++) {
    const want = Array.from(enc.encode_ordinary(pieces[p]));
    const got = ids.slice(k, k + want.length);
    if (want.join() !== got.join()) {
      problems.push(`${name}: piece #${p} ${JSON.stringify(pieces[p])} encodes to ${JSON.stringify(want)} but the text has ${JSON.stringify(got)} there (context ${JSON.stringify(pieces.slice(Math.max(0, p - 2), p + 3))})`);
      break;
    }
    k += want.length;
  }
  if (!problems.length && k !== ids.length) problems.push(`${name}: pieces encode to ${k} ids, text to ${ids.length}`);
  return problems;
}

// Everything the golden files and the live test need for one text; ports: also run and
// compare js-tiktoken and gpt-tokenizer.
export function oracle(text, ports = true) {
  const out = { ids: {}, pieces: {}, diffs: [], problems: [] };
  for (const [name, pat] of Object.entries(ENCODINGS)) {
    const all = encodeAll(name, text, ports);
    out.ids[name] = all.tiktoken;
    for (const impl of ports ? ["js-tiktoken", "gpt-tokenizer"] : [])
      if (all[impl].join() !== all.tiktoken.join())
        out.diffs.push(`${name}: ${impl} differs from tiktoken: ${describeDiff(name, text, all.tiktoken, all[impl])}`);
    out.pieces[pat] = split(pat, text);
    out.problems.push(...checkPieces(name, out.pieces[pat], all.tiktoken));
  }
  return out;
}
