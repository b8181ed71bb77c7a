// glassbox — llama.cpp as the peer of bench/infer and the oracle of tests/infer/test_interop_llamacpp.c,
// through node-llama-cpp 3.22.1 and its prebuilt CPU binaries for linux-x64 (npm, pinned by
// bench/quant/package-lock.json; `npm install --prefix bench/quant` or scripts/deps.sh). Only the
// prebuilt library is used: no download, no compilation, no GPU.
//
//   node bench/infer/llamacpp.mjs bench MODEL.gguf [--threads 1,2] [--pp 512] [--tg 128] [--reps 2]
//     As llm_bench measures glassbox (and llama-bench llama.cpp): pp = N tokens evaluated at once
//     into an empty cache, tg = N tokens decoded one by one from an empty cache (greedy, sampled
//     in llama.cpp), best of reps, after an untimed warm-up (8 tokens, then 1). The tokens are
//     llm_bench's: (i·7919 + 13) mod n_vocab. One line per thread count:
//       llamacpp threads=1 pp=512 pp_tps=123.4 tg=128 tg_tps=12.34 n_ctx=512 flash_attn=false kv_type=F16
//   node bench/infer/llamacpp.mjs interop MODEL.gguf IN.json OUT.txt
//     IN.json: {"strings": [...], "prompt": "...", "n": 16, "kv": "F32"} (kv: the KV cache type,
//     default llama.cpp's F16). OUT.txt, one record a line:
//       tok I id id ...              llama.cpp's tokenization of strings[I] (special tokens parsed)
//       bos B                        the BOS id llama.cpp prepends to a prompt, or -1 if none
//       prompt id id ...             the prompt's ids as llama.cpp evaluates them
//       step I id logit0 logit1 ...  greedy step I: the token chosen and all n_vocab raw logits
//       eog I                        step I chose an end-of-generation token (generation stops)
//   The environment variable GB_NODE_LLAMA_CPP names another node-llama-cpp folder.
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = process.env.GB_NODE_LLAMA_CPP || path.join(here, "../quant/node_modules/node-llama-cpp");

function usage() {
    process.stderr.write("usage: llamacpp.mjs bench MODEL.gguf [--threads 1,2] [--pp N] [--tg N] [--reps N]\n" +
                         "       llamacpp.mjs interop MODEL.gguf IN.json OUT.txt\n");
    process.exit(2);
}

async function loadLlama() {
    const entry = path.join(pkg, "dist/index.js");
    if (!fs.existsSync(entry)) {
        process.stderr.write(`llamacpp.mjs: ${pkg} is missing (npm install --prefix bench/quant)\n`);
        process.exit(3);
    }
    process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = "true";
    const nlc = await import(pathToFileURL(entry).href);
    try {
        const llama = await nlc.getLlama({
            gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, progressLogs: false,
            logLevel: nlc.LlamaLogLevel.error, maxThreads: 0, // threads exactly as asked
        });
        return {nlc, llama};
    } catch (e) {
        process.stderr.write(`llamacpp.mjs: no usable prebuilt llama.cpp: ${e.message}\n`);
        process.exit(3);
    }
}

const ggmlTypes = {0: "F32", 1: "F16", 2: "Q4_0", 8: "Q8_0", 30: "BF16"};

function now() {
    return Number(process.hrtime.bigint()) / 1e9;
}

async function bench(args) {
    let model = null, threads = [1, 2], pp = 512, tg = 128, reps = 2;
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === "--threads" && i + 1 < args.length) threads = args[++i].split(",").map(Number);
        else if (a === "--pp" && i + 1 < args.length) pp = Number(args[++i]);
        else if (a === "--tg" && i + 1 < args.length) tg = Number(args[++i]);
        else if (a === "--reps" && i + 1 < args.length) reps = Number(args[++i]);
        else if (!a.startsWith("-") && !model) model = a;
        else usage();
    }
    if (!model || !(pp > 0) || !(tg > 0) || !(reps > 0) || threads.some(t => !(t > 0))) usage();
    const {llama} = await loadLlama();
    const m = await llama.loadModel({modelPath: model, gpuLayers: 0});
    // n_vocab as llm_bench has it: the rows of token_embd (GGUF dimensions are innermost first)
    const emb = m.fileInfo.tensorInfo.find(x => x.name === "token_embd.weight");
    const nVocab = Number(emb.dimensions[1]);
    const n = Math.max(pp, tg);
    const tok = Array.from({length: n}, (_, i) => (i * 7919 + 13) % nVocab);
    for (const t of threads) {
        // one sequence; the batch holds the whole prompt, as llama-bench's n_ubatch 512 does for pp512
        const ctx = await m.createContext({contextSize: n, batchSize: Math.max(pp, 1), threads: t, sequences: 1});
        const seq = ctx.getSequence();
        const warm = tok.slice(0, Math.min(8, pp));
        await seq.evaluateWithoutGeneratingNewTokens(warm);
        await seq.clearHistory();
        await seq.evaluateWithoutGeneratingNewTokens(tok.slice(0, 1));
        await seq.clearHistory();
        let bestPP = 0, bestTG = 0;
        for (let r = 0; r < reps; r++) {
            let t0 = now();
            await seq.evaluateWithoutGeneratingNewTokens(tok.slice(0, pp));
            let s = now() - t0;
            bestPP = Math.max(bestPP, pp / s);
            await seq.clearHistory();
            // tg: the first step evaluates tok[0], each later one the token sampled before
            let k = 0;
            t0 = now();
            for await (const next of seq.evaluate(tok.slice(0, 1), {temperature: 0})) {
                void next;
                if (++k >= tg) break;
            }
            s = now() - t0;
            bestTG = Math.max(bestTG, tg / s);
            await seq.clearHistory();
        }
        console.log(`llamacpp threads=${t} pp=${pp} pp_tps=${bestPP.toFixed(2)} tg=${tg} tg_tps=${bestTG.toFixed(3)} ` +
                    `n_ctx=${ctx.contextSize} flash_attn=${ctx.flashAttention} kv_type=${ggmlTypes[ctx.kvCacheKeyType] ?? ctx.kvCacheKeyType}`);
        await ctx.dispose();
    }
    await m.dispose();
}

async function interop(args) {
    if (args.length !== 3) usage();
    const [modelPath, inPath, outPath] = args;
    const input = JSON.parse(fs.readFileSync(inPath, "utf8"));
    const {llama} = await loadLlama();
    const m = await llama.loadModel({modelPath, gpuLayers: 0});
    const out = [];
    (input.strings || []).forEach((s, i) => out.push(`tok ${i} ${m.tokenize(s, true).join(" ")}`.trimEnd()));
    const bos = m.tokens.shouldPrependBosToken && m.tokens.bos != null ? m.tokens.bos : -1;
    out.push(`bos ${bos}`);
    const prompt = (bos >= 0 ? [bos] : []).concat(m.tokenize(input.prompt ?? "", true));
    out.push(`prompt ${prompt.join(" ")}`);
    const n = input.n ?? 16;
    const kv = input.kv ? {experimentalKvCacheKeyType: input.kv, experimentalKvCacheValueType: input.kv} : {};
    const ctx = await m.createContext({contextSize: Math.max(prompt.length + n + 1, 64), threads: 1, sequences: 1, ...kv});
    const seq = ctx.getSequence();
    const want = {token: true, logits: true, options: {temperature: 0}};
    let items = prompt.slice(0, -1).concat([[prompt[prompt.length - 1], {generateNext: want}]]);
    for (let i = 0; i < n; i++) {
        const res = await seq.controlledEvaluate(items);
        const next = res[items.length - 1].next;
        const V = next.logits.size;
        const logits = new Float32Array(V);
        for (const [id, l] of next.logits) logits[id] = l;
        out.push(`step ${i} ${next.token} ${Array.from(logits, x => x.toPrecision(9)).join(" ")}`);
        if (m.isEogToken(next.token)) {
            out.push(`eog ${i}`);
            break;
        }
        items = [[next.token, {generateNext: want}]];
    }
    fs.writeFileSync(outPath, out.join("\n") + "\n");
    await ctx.dispose();
    await m.dispose();
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === "bench") await bench(rest);
else if (cmd === "interop") await interop(rest);
else usage();
