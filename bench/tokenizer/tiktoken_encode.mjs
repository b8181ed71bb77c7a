// The peer side of bench/tokenizer/encode.sh: OpenAI's tiktoken (WASM) encoding the same
// text with r50k_base, timed in-process. Prints one line of key=value pairs.
// Usage: node tiktoken_encode.mjs TEXT_FILE REPEATS
//        node tiktoken_encode.mjs --write-ranks OUT   (r50k_base as a .tiktoken rank file, for
//                                                      when data/vocab/gpt2/ lacks it)
import fs from "node:fs";
import { createRequire } from "node:module";
import { get_encoding } from "tiktoken";

if (process.argv[2] === "--write-ranks") {
  // the package's compact form: lines of "! FIRST_RANK base64 base64 ..."
  const ranks = createRequire(import.meta.url)("tiktoken/encoders/r50k_base.json").bpe_ranks;
  const out = [];
  for (const line of ranks.split("\n")) {
    const f = line.split(" ");
    if (f.length < 2) continue;
    const first = Number(f[1]);
    f.slice(2).forEach((tok, i) => out.push(`${tok} ${first + i}`));
  }
  fs.writeFileSync(process.argv[3], out.join("\n") + "\n");
  process.exit(0);
}

const [path, repeatsArg] = process.argv.slice(2);
const repeats = Number(repeatsArg || 3);
const text = fs.readFileSync(path, "utf8");
const bytes = Buffer.byteLength(text, "utf8");

let t0 = process.hrtime.bigint();
const enc = get_encoding("r50k_base");
const loadS = Number(process.hrtime.bigint() - t0) / 1e9;

let best = Infinity, n = 0;
for (let r = 0; r < repeats; r++) {
  t0 = process.hrtime.bigint();
  const ids = enc.encode_ordinary(text);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  n = ids.length;
  if (s < best) best = s;
}
enc.free();
console.log(`bytes=${bytes} ids=${n} load_s=${loadS.toFixed(4)} encode_s=${best.toFixed(4)} mb_s=${(bytes / 1e6 / best).toFixed(2)}`);
