// The GPT-2 (r50k) and cl100k split patterns as JavaScript regular expressions with the
// semantics of the Rust regex crate that tiktoken uses (and of Python's `regex`):
//   - \s is Unicode White_Space. JavaScript's \s differs: it adds U+FEFF and lacks U+0085,
//     so the patterns spell the class out instead of using \s.
//   - cl100k's '(?i:s|...) uses Unicode simple case folding, under which U+017F LATIN SMALL
//     LETTER LONG S also matches 's'.
//   - Possessive quantifiers (?+ ++), which JavaScript lacks, change nothing in these
//     patterns (what follows them can never match what they would give back).
// \p{L} and \p{N} come from Node's own Unicode tables; make-text.mjs only uses characters
// whose category is the same in Unicode 15.0 (glassbox's tables) and Node's version.
const WS = String.raw`\t\n\v\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000`;
const S = `[${WS}]`, NS = `[^${WS}]`, O = String.raw`[^${WS}\p{L}\p{N}]`;

export const PATTERNS = {
  gpt2: new RegExp(String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?${O}+|${S}+(?!${NS})|${S}+`, "gu"),
  cl100k: new RegExp(
    String.raw`'(?:[sS\u017F]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?${O}+[\r\n]*|${S}*[\r\n]|${S}+(?!${NS})|${S}+`,
    "gu"),
};

// The pieces of `text` (an array of strings that concatenate to text), or throws if the
// pattern leaves a gap (it cannot: the last alternatives match any single character).
export function split(kind, text) {
  const re = PATTERNS[kind], out = [];
  let at = 0;
  for (const m of text.matchAll(re)) {
    if (m.index !== at) throw new Error(`${kind}: gap at ${at}`);
    out.push(m[0]);
    at += m[0].length;
  }
  if (at !== text.length) throw new Error(`${kind}: unmatched tail at ${at}`);
  return out;
}

// Byte lengths of the pieces, one per line (the format of text.*.pieces).
export function piecesFile(pieces) {
  return pieces.map((p) => Buffer.byteLength(p, "utf8")).join("\n") + "\n";
}
