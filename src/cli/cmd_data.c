/* glassbox data prepare — text files → token shards for training and validation.
 *
 * Each input is cut at line boundaries into blocks of about 1% of all the text (clamped to
 * 1–32 KiB, so even a small corpus gets a validation split); block i (counted over all
 * inputs) goes to validation when floor((i+1)·F) > floor(i·F), which spreads the
 * validation fraction F evenly over the corpus instead of taking its tail. Blocks are
 * encoded in parallel (fixed block order, so the output never depends on the thread
 * count). The tokenizer's <|endoftext|> (if it has one) ends each input file. Outputs:
 * DIR/train-NNNN.bin, DIR/val-NNNN.bin (include/glassbox/shard.h) and DIR/meta.json. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/progress.h"
#include "glassbox/sha256.h"
#include "glassbox/shard.h"
#include "glassbox/sys.h"
#include "glassbox/tokenizer.h"
#include "glassbox/train.h"

#define MIN_BLOCK_BYTES 1024
#define MAX_BLOCK_BYTES (32 * 1024)

static const char *prepare_help =
    "usage: glassbox data prepare --tokenizer FILE --input FILE... --out DIR [options]\n"
    "\n"
    "Encodes text files (plain or .gz) into token shards for `glassbox train`.\n"
    "\n"
    "  --tokenizer FILE     tokenizer (glassbox JSON, GPT-2 encoder.json, tiktoken file)\n"
    "  --input FILE...      input text files; repeat the flag or list several files\n"
    "  --out DIR            output directory (created if missing)\n"
    "  --val-fraction F     fraction of blocks kept for validation (default 0.1, 0..0.5)\n"
    "  --shard-tokens N     at most N tokens per shard file (default 100000000)\n"
    "  --threads N          encoding threads (default: one per core)\n"
    "  --quiet              no progress output\n"
    "  --json               print the summary as one JSON object\n"
    "  -h, --help           show this help\n";

typedef struct {
    const char *text;
    size_t len;
    int file;     /* index of the input it came from */
    int is_val;
    int last_of_file;
    gb_ids ids;
} block;

typedef struct {
    const char *dir, *split;
    int64_t shard_tokens;
    int64_t vocab_size;
    uint8_t digest[32];
    gb_ids pending;       /* ids not yet written */
    int n_shards;
    int64_t n_tokens;
    char **written;       /* paths of shards written, removed again if the run fails */
} split_writer;

static gb_status flush_shard(split_writer *w, int final) {
    while (w->pending.len >= w->shard_tokens || (final && (w->pending.len > 0 || w->n_shards == 0))) {
        int64_t n = w->pending.len < w->shard_tokens ? w->pending.len : w->shard_tokens;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s-%04d.bin", w->dir, w->split, w->n_shards);
        gb_status rc = gb_shard_write(path, w->pending.data, n, w->vocab_size, w->digest);
        if (rc) return rc;
        char **grown = realloc(w->written, (size_t)(w->n_shards + 1) * sizeof *grown);
        if (!grown) return gb_errorf(GB_ERR_NOMEM, "out of memory");
        w->written = grown;
        if (!(w->written[w->n_shards] = strdup(path))) {
            unlink(path);
            return gb_errorf(GB_ERR_NOMEM, "out of memory");
        }
        w->n_shards++;
        w->n_tokens += n;
        if (w->pending.len > n)
            memmove(w->pending.data, w->pending.data + n, (size_t)(w->pending.len - n) * sizeof(uint32_t));
        w->pending.len -= n;
        if (final && w->pending.len == 0) break;
    }
    return GB_OK;
}

static void split_writer_free(split_writer *w, int remove_files) {
    for (int i = 0; i < w->n_shards; i++) {
        if (remove_files) unlink(w->written[i]);
        free(w->written[i]);
    }
    free(w->written);
    gb_ids_free(&w->pending);
}

static cJSON *split_json(const split_writer *w) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "tokens", (double)w->n_tokens);
    cJSON *files = cJSON_AddArrayToObject(o, "shards");
    for (int i = 0; i < w->n_shards; i++) {
        const char *base = strrchr(w->written[i], '/');
        cJSON_AddItemToArray(files, cJSON_CreateString(base ? base + 1 : w->written[i]));
    }
    return o;
}

static int cmd_prepare(int argc, char **argv) {
    const char *cmd = "data prepare";
    const char *tok_path = NULL, *out_dir = NULL;
    double val_fraction = 0.1;
    int64_t shard_tokens = 100000000;
    int quiet = 0, json = 0;
    const char **inputs = calloc((size_t)argc, sizeof *inputs);
    int n_inputs = 0;
    if (!inputs) return gb_cli_fail(gb_errorf(GB_ERR_NOMEM, "out of memory"));
    enum { OPT_VAL = 256, OPT_SHARD, OPT_THREADS, OPT_QUIET, OPT_JSON };
    static const struct option opts[] = {
        {"tokenizer", required_argument, 0, 't'}, {"input", required_argument, 0, 'i'},
        {"out", required_argument, 0, 'o'},       {"val-fraction", required_argument, 0, OPT_VAL},
        {"shard-tokens", required_argument, 0, OPT_SHARD}, {"threads", required_argument, 0, OPT_THREADS},
        {"quiet", no_argument, 0, OPT_QUIET},     {"json", no_argument, 0, OPT_JSON},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    int c, rc_exit = GB_EXIT_OK;
    optind = 1;
    while ((c = gb_cli_getopt(cmd, argc, argv, "t:i:o:h", opts)) != -1) {
        switch (c) {
        case 't': tok_path = optarg; break;
        case 'i':
            inputs[n_inputs++] = optarg;
            /* "--input a b c": following non-option words are inputs too */
            while (optind < argc && argv[optind][0] != '-') inputs[n_inputs++] = argv[optind++];
            break;
        case 'o': out_dir = optarg; break;
        case OPT_VAL:
            if (gb_cli_parse_double(optarg, 0.0, 0.5, &val_fraction)) {
                free(inputs);
                return gb_cli_usage_error(cmd, "--val-fraction wants a number from 0 to 0.5, not '%s'", optarg);
            }
            break;
        case OPT_SHARD:
            if (gb_cli_parse_int(optarg, 1, INT64_MAX / 8, &shard_tokens)) {
                free(inputs);
                return gb_cli_usage_error(cmd, "--shard-tokens wants a positive whole number, not '%s'", optarg);
            }
            break;
        case OPT_THREADS:
            if (gb_cli_set_threads(cmd, optarg)) { free(inputs); return GB_EXIT_USAGE; }
            break;
        case OPT_QUIET: quiet = 1; break;
        case OPT_JSON: json = 1; break;
        case 'h': fputs(prepare_help, stdout); free(inputs); return GB_EXIT_OK;
        default: free(inputs); return GB_EXIT_USAGE;
        }
    }
    if (optind < argc) { free(inputs); return gb_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]); }
    if (!tok_path || !out_dir || n_inputs == 0) {
        free(inputs);
        return gb_cli_usage_error(cmd, "--tokenizer, --input and --out are required");
    }
    gb_progress_set_quiet(quiet);

    gb_status rc = GB_OK;
    gb_tokenizer *tok = NULL;
    char **texts = calloc((size_t)n_inputs, sizeof *texts);
    size_t *lens = calloc((size_t)n_inputs, sizeof *lens);
    block *blocks = NULL;
    int64_t n_blocks = 0, cap_blocks = 0, total_bytes = 0;
    split_writer train = {0}, val = {0};
    cJSON *meta = NULL, *inputs_json = NULL;
    if (!texts || !lens) { rc = gb_errorf(GB_ERR_NOMEM, "out of memory"); goto done; }
    if ((rc = gb_tokenizer_load(&tok, tok_path))) goto done;
    meta = cJSON_CreateObject();
    inputs_json = cJSON_CreateArray();

    /* read every input first: a missing or empty file fails before anything is written */
    for (int f = 0; f < n_inputs; f++) {
        if ((rc = gb_read_file(inputs[f], 0, &texts[f], &lens[f]))) goto done;
        if (lens[f] == 0) { rc = gb_errorf(GB_ERR_FORMAT, "%s: input is empty", inputs[f]); goto done; }
        uint8_t d[32];
        char hex[65];
        gb_sha256(texts[f], lens[f], d);
        gb_sha256_hex(d, hex);
        cJSON *in = cJSON_CreateObject();
        cJSON_AddStringToObject(in, "path", inputs[f]);
        cJSON_AddNumberToObject(in, "bytes", (double)lens[f]);
        cJSON_AddStringToObject(in, "sha256", hex);
        cJSON_AddItemToArray(inputs_json, in);
        total_bytes += (int64_t)lens[f];
    }
    size_t block_bytes = (size_t)(total_bytes / 100);
    if (block_bytes < MIN_BLOCK_BYTES) block_bytes = MIN_BLOCK_BYTES;
    if (block_bytes > MAX_BLOCK_BYTES) block_bytes = MAX_BLOCK_BYTES;
    for (int f = 0; f < n_inputs; f++) {
        for (size_t pos = 0; pos < lens[f];) {
            size_t end = pos + block_bytes < lens[f] ? pos + block_bytes : lens[f];
            while (end < lens[f] && texts[f][end - 1] != '\n') end++; /* finish the line */
            if (n_blocks == cap_blocks) {
                cap_blocks = cap_blocks ? 2 * cap_blocks : 256;
                if ((rc = gb_realloc_array((void **)&blocks, (size_t)cap_blocks, sizeof *blocks))) goto done;
            }
            block *b = &blocks[n_blocks];
            memset(b, 0, sizeof *b);
            b->text = texts[f] + pos;
            b->len = end - pos;
            b->file = f;
            b->is_val = (int64_t)((double)(n_blocks + 1) * val_fraction) > (int64_t)((double)n_blocks * val_fraction);
            b->last_of_file = end == lens[f];
            n_blocks++;
            pos = end;
        }
    }

    gb_progress p;
    gb_progress_begin(&p, "encode", total_bytes, "B");
    int64_t done_bytes = 0;
    volatile int failed = 0;
    gb_status block_rc = GB_OK;
    char block_err[1024] = "";
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < n_blocks; i++) {
        if (failed || gb_interrupted()) continue;
        gb_status r = gb_tokenizer_encode(tok, blocks[i].text, blocks[i].len, 0, &blocks[i].ids);
#pragma omp critical
        {
            if (r && !failed) {
                failed = 1;
                block_rc = r;
                snprintf(block_err, sizeof block_err, "%s", gb_last_error());
            }
            done_bytes += (int64_t)blocks[i].len;
            gb_progress_update(&p, done_bytes, NULL);
        }
    }
    if (failed) { rc = gb_errorf(block_rc, "%s", block_err); goto done; }
    if (gb_interrupted()) { rc = gb_errorf(GB_ERR_INTERRUPTED, "interrupted; no shards written"); goto done; }
    gb_progress_end(&p, NULL);

    if ((rc = gb_mkdir_p(out_dir))) goto done;
    int64_t eot = gb_tokenizer_special_id(tok, "<|endoftext|>");
    split_writer *ws[2] = {&train, &val};
    const char *names[2] = {"train", "val"};
    for (int s = 0; s < 2; s++) {
        ws[s]->dir = out_dir;
        ws[s]->split = names[s];
        ws[s]->shard_tokens = shard_tokens;
        ws[s]->vocab_size = gb_tokenizer_vocab_size(tok);
        gb_tokenizer_digest(tok, ws[s]->digest);
    }
    for (int64_t i = 0; i < n_blocks; i++) {
        split_writer *w = blocks[i].is_val ? &val : &train;
        for (int64_t k = 0; k < blocks[i].ids.len; k++)
            if ((rc = gb_ids_push(&w->pending, blocks[i].ids.data[k]))) goto done;
        if (blocks[i].last_of_file && eot >= 0 && (rc = gb_ids_push(&w->pending, (uint32_t)eot))) goto done;
        gb_ids_free(&blocks[i].ids);
        if ((rc = flush_shard(w, 0))) goto done;
    }
    if ((rc = flush_shard(&train, 1)) || (rc = flush_shard(&val, 1))) goto done;

    uint8_t digest[32];
    char hex[65];
    gb_tokenizer_digest(tok, digest);
    gb_sha256_hex(digest, hex);
    cJSON_AddStringToObject(meta, "format", "glassbox.tokens");
    cJSON_AddNumberToObject(meta, "version", 1);
    cJSON *tj = cJSON_AddObjectToObject(meta, "tokenizer");
    cJSON_AddStringToObject(tj, "path", tok_path);
    cJSON_AddStringToObject(tj, "digest", hex);
    cJSON_AddNumberToObject(tj, "vocab_size", (double)gb_tokenizer_vocab_size(tok));
    cJSON_AddItemToObject(meta, "inputs", inputs_json);
    inputs_json = NULL;
    cJSON_AddNumberToObject(meta, "val_fraction", val_fraction);
    cJSON_AddNumberToObject(meta, "block_bytes", (double)block_bytes);
    cJSON_AddItemToObject(meta, "train", split_json(&train));
    cJSON_AddItemToObject(meta, "val", split_json(&val));
    char *text = cJSON_Print(meta);
    char meta_path[4096];
    snprintf(meta_path, sizeof meta_path, "%s/meta.json", out_dir);
    gb_atomic_file mf;
    if (!text) { rc = gb_errorf(GB_ERR_NOMEM, "out of memory"); goto done; }
    if ((rc = gb_atomic_open(&mf, meta_path)) == GB_OK) {
        fputs(text, mf.fp);
        fputc('\n', mf.fp);
        rc = gb_atomic_commit(&mf);
    }
    free(text);
    if (rc) goto done;

    double ratio = (double)(train.n_tokens + val.n_tokens) / (double)total_bytes;
    if (json) {
        printf("{\"out\":\"%s\",\"bytes\":%lld,\"train_tokens\":%lld,\"val_tokens\":%lld,"
               "\"tokens_per_byte\":%.6f,\"tokenizer_digest\":\"%s\"}\n",
               out_dir, (long long)total_bytes, (long long)train.n_tokens, (long long)val.n_tokens, ratio, hex);
    } else {
        printf("prepared %s: %lld bytes -> %lld train + %lld val tokens (%.3f tokens/byte) in %d + %d shards\n",
               out_dir, (long long)total_bytes, (long long)train.n_tokens, (long long)val.n_tokens, ratio,
               train.n_shards, val.n_shards);
    }
done:
    if (rc) rc_exit = gb_cli_fail(rc);
    for (int64_t i = 0; i < n_blocks; i++) gb_ids_free(&blocks[i].ids);
    free(blocks);
    split_writer_free(&train, rc != GB_OK);
    split_writer_free(&val, rc != GB_OK);
    for (int f = 0; texts && f < n_inputs; f++) gb_free(texts[f]);
    free(texts);
    free(lens);
    free(inputs);
    cJSON_Delete(inputs_json);
    cJSON_Delete(meta);
    gb_tokenizer_free(tok);
    return rc_exit;
}


/* glassbox data stats: token counts and unigram entropies, the floor a model that ignores
 * context cannot beat (compare with `glassbox train`'s loss, also in nats per token). */
static const char *stats_help =
    "usage: glassbox data stats DIR [--json]\n"
    "\n"
    "Token counts of a prepared directory and two unigram baselines for the loss (nats/token):\n"
    "  val entropy        H = -sum p log p of the validation tokens' own frequencies\n"
    "  train unigram      cross-entropy of the validation tokens under the training tokens'\n"
    "                     frequencies (add-one smoothed): what a context-free model scores\n"
    "\n"
    "  --json               print one JSON object\n"
    "  -h, --help           show this help\n";

static gb_status count_split(const char *dir, const char *split, double **counts, int64_t *vocab, int64_t *n) {
    gb_loader L;
    gb_status rc = gb_loader_open(&L, dir, split, 1, 0, 0);
    if (rc) return rc;
    if (!*counts) {
        *vocab = L.vocab_size;
        if (!(*counts = calloc((size_t)L.vocab_size, sizeof **counts))) rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
    } else if (L.vocab_size != *vocab) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: the %s shards have another vocabulary size", dir, split);
    }
    *n = 0;
    for (int s = 0; !rc && s < L.n_shards; s++)
        for (int64_t i = 0; i < L.shards[s].n_tokens; i++) (*counts)[gb_shard_token(&L.shards[s], i)] += 1, (*n)++;
    gb_loader_close(&L);
    return rc;
}

static int cmd_stats(int argc, char **argv) {
    const char *cmd = "data stats";
    int json = 0, c;
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    while ((c = gb_cli_getopt(cmd, argc, argv, "h", opts)) != -1) {
        if (c == 'h') { fputs(stats_help, stdout); return GB_EXIT_OK; }
        if (c == 'j') json = 1;
        else return GB_EXIT_USAGE;
    }
    if (optind != argc - 1) return gb_cli_usage_error(cmd, "wants one prepared directory");
    const char *dir = argv[optind];
    double *tr = NULL, *va = NULL;
    int64_t V = 0, V2 = 0, n_tr = 0, n_va = 0;
    gb_status rc;
    if ((rc = count_split(dir, "train", &tr, &V, &n_tr)) || (rc = count_split(dir, "val", &va, &V2, &n_va))) goto done;
    if (V2 != V) { rc = gb_errorf(GB_ERR_FORMAT, "%s: train and val vocabulary sizes differ", dir); goto done; }
    double h_val = 0, xent = 0;
    int64_t distinct = 0;
    for (int64_t v = 0; v < V; v++) {
        if (va[v] > 0) {
            double p = va[v] / (double)n_va;
            h_val -= p * log(p);
            xent -= va[v] * log((tr[v] + 1) / ((double)n_tr + (double)V));
            distinct++;
        }
    }
    if (n_va > 0) xent /= (double)n_va;
    if (json) {
        printf("{\"dir\":\"%s\",\"vocab_size\":%lld,\"train_tokens\":%lld,\"val_tokens\":%lld,"
               "\"val_distinct\":%lld,\"val_unigram_entropy_nats\":%.6f,\"val_unigram_entropy_bits\":%.6f,"
               "\"train_unigram_xent_nats\":%.6f}\n",
               dir, (long long)V, (long long)n_tr, (long long)n_va, (long long)distinct, h_val, h_val / log(2.0), xent);
    } else {
        printf("%s: vocabulary %lld, %lld train + %lld val tokens (%lld distinct in val)\n", dir, (long long)V,
               (long long)n_tr, (long long)n_va, (long long)distinct);
        printf("val unigram entropy        %.4f nats/token (%.4f bits)\n", h_val, h_val / log(2.0));
        printf("train unigram on val       %.4f nats/token (cross-entropy, add-one smoothed)\n", xent);
    }
done:
    free(tr);
    free(va);
    return rc ? gb_cli_fail(rc) : GB_EXIT_OK;
}

static const char *data_help = "usage: glassbox data COMMAND [OPTIONS]\n"
                               "\n"
                               "Commands:\n"
                               "  prepare      encode text files into token shards for training\n"
                               "  stats        token counts and unigram entropy of a prepared directory\n"
                               "\n"
                               "'glassbox data COMMAND --help' describes a command.\n";

int gb_cmd_data(int argc, char **argv) {
    if (argc < 2) {
        fputs(data_help, stderr);
        return GB_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(data_help, stdout);
        return GB_EXIT_OK;
    }
    if (!strcmp(argv[1], "prepare")) return cmd_prepare(argc - 1, argv + 1);
    if (!strcmp(argv[1], "stats")) return cmd_stats(argc - 1, argv + 1);
    return gb_cli_usage_error("data", "unknown command '%s'", argv[1]);
}
