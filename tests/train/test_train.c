/* Trainer library: the loader's cursor, the schedule, the checkpoint round trip. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/train.h"
#include "test.h"
#include "train_fixture.h"

/* Reading, saving the cursor, reading on; a fresh loader set to the cursor reads the same. */
TEST(train_loader_cursor_restores_exactly) {
    const char *data = train_fixture_data();
    REQUIRE(data);
    enum { B = 3, T = 16 };
    int32_t in[B * T], tg[B * T], in2[B * T], tg2[B * T];
    gb_loader a, b;
    CHECK_OK(gb_loader_open(&a, data, "train", T, 1, 42));
    REQUIRE(a.n_windows > 10);
    for (int i = 0; i < 7; i++) CHECK_OK(gb_loader_next(&a, in, tg, B)); /* past one epoch edge at times */
    gb_data_cursor c;
    gb_loader_get_cursor(&a, &c);
    CHECK_OK(gb_loader_open(&b, data, "train", T, 1, 999)); /* another seed: the cursor decides */
    CHECK_OK(gb_loader_set_cursor(&b, &c));
    for (int i = 0; i < 3 * (int)a.n_windows / B + 5; i++) { /* a few epochs */
        CHECK_OK(gb_loader_next(&a, in, tg, B));
        CHECK_OK(gb_loader_next(&b, in2, tg2, B));
        if (memcmp(in, in2, sizeof in) || memcmp(tg, tg2, sizeof tg)) {
            gb_test_fail(__FILE__, __LINE__, "batch %d differs after restoring the cursor", i);
            break;
        }
        for (int k = 0; k + 1 < T; k++) CHECK(tg[k] == in[k + 1]); /* targets are inputs shifted */
    }
    CHECK(a.cur.epoch >= 2);
    /* every window is read once per epoch */
    gb_loader_rewind(&a, 7);
    int64_t W = a.n_windows;
    int *seen = calloc((size_t)W, sizeof *seen);
    REQUIRE(seen);
    for (int64_t i = 0; i < W; i++) {
        CHECK_OK(gb_loader_next(&a, in, tg, 1));
        /* find which window it was by its first token position: compare against file order */
        gb_loader s;
        CHECK_OK(gb_loader_open(&s, data, "train", T, 0, 0));
        for (int64_t w = 0; w < W; w++) {
            CHECK_OK(gb_loader_next(&s, in2, tg2, 1));
            if (!memcmp(in, in2, sizeof(int32_t) * T) && !memcmp(tg, tg2, sizeof(int32_t) * T)) {
                seen[w]++;
                break;
            }
        }
        gb_loader_close(&s);
        if (i > 40) break; /* enough to see a permutation, and keeps the test quick */
    }
    int dup = 0;
    for (int64_t w = 0; w < W; w++) dup += seen[w] > 1;
    CHECK_EQ_INT(dup, 0);
    free(seen);
    /* a cursor outside the data is refused */
    c.shard = 5;
    CHECK(gb_loader_set_cursor(&b, &c) == GB_ERR_FORMAT);
    gb_loader_close(&a);
    gb_loader_close(&b);
}

TEST(train_schedule_warmup_cosine) {
    gb_train_config c;
    gb_train_config_defaults(&c);
    c.steps = 100, c.warmup = 10, c.lr = 1e-3f, c.min_lr = 1e-4f;
    CHECK(fabsf(gb_train_lr(&c, 0) - 1e-4f) < 1e-9f);
    CHECK(fabsf(gb_train_lr(&c, 9) - 1e-3f) < 1e-9f);
    CHECK(fabsf(gb_train_lr(&c, 10) - 1e-3f) < 1e-9f);
    CHECK(fabsf(gb_train_lr(&c, 99) - 1e-4f) < 1e-9f);
    CHECK(fabsf(gb_train_lr(&c, 10 + 89 / 2) - 5.5e-4f) < 1e-5f); /* half way: the mean */
    for (int s = 11; s < 100; s++) CHECK(gb_train_lr(&c, s) <= gb_train_lr(&c, s - 1));
    c.warmup = 0;
    CHECK(fabsf(gb_train_lr(&c, 0) - 1e-3f) < 1e-9f);
}

TEST(train_config_validation) {
    gb_train_config c;
    gb_train_config_defaults(&c);
    CHECK_OK(gb_model_config_preset(&c.model, "gpt2-tiny"));
    snprintf(c.data_dir, sizeof c.data_dir, "x");
    CHECK_OK(gb_train_config_validate(&c));
    c.seq = c.model.n_ctx + 1;
    CHECK(gb_train_config_validate(&c) == GB_ERR_ARG && strstr(gb_last_error(), "seq"));
    c.seq = 16, c.min_lr = 2 * c.lr;
    CHECK(gb_train_config_validate(&c) == GB_ERR_ARG && strstr(gb_last_error(), "min_lr"));
    c.min_lr = 0, c.model.n_head = 3;
    CHECK(gb_train_config_validate(&c) == GB_ERR_ARG && strstr(gb_last_error(), "n_head"));
}

/* A checkpoint written and read back gives the same weights, moments, state and config. */
TEST(train_checkpoint_round_trip) {
    gb_train_config c;
    gb_train_config_defaults(&c);
    CHECK_OK(gb_model_config_preset(&c.model, "llama-tiny"));
    c.model.vocab_size = 300, c.model.n_layer = 1, c.model.d_model = 32, c.model.d_ff = 64, c.model.n_ctx = 16;
    c.seq = 16;
    snprintf(c.data_dir, sizeof c.data_dir, "some/dir");
    snprintf(c.preset, sizeof c.preset, "llama-tiny");
    gb_model *m = NULL, *m2 = NULL;
    gb_adamw opt = {0}, opt2 = {0};
    REQUIRE(gb_model_init(&m, &c.model) == GB_OK);
    gb_model_init_weights(m, 3);
    REQUIRE(gb_adamw_init(&opt, m->n_floats, c.beta1, c.beta2, c.eps, c.weight_decay) == GB_OK);
    for (int64_t i = 0; i < m->n_floats; i++) opt.m[i] = (float)i * 1e-3f, opt.v[i] = (float)i * 1e-6f;
    opt.step = 17;
    gb_train_state st = {.step = 17, .cursor = {.epoch = 1, .shard = 0, .window = 5, .rng = {1, 2, 3, 4}},
                         .elapsed_s = 1.5, .tokens = 1234};
    const char *path = gb_test_path("%s/rt.gguf", gb_test_tmpdir());
    CHECK_OK(gb_ckpt_save(path, NULL, m, &opt, &c, &st, NULL));
    gb_train_config c2;
    CHECK_OK(gb_ckpt_read_config(path, &c2));
    CHECK(c2.steps == c.steps && c2.lr == c.lr && c2.seed == c.seed && !strcmp(c2.data_dir, "some/dir") &&
          !strcmp(c2.preset, "llama-tiny") && c2.model.n_kv_head == c.model.n_kv_head &&
          c2.model.norm == GB_NORM_RMSNORM && c2.model.pos == GB_POS_ROPE && c2.model.mlp == GB_MLP_SWIGLU);
    gb_train_state st2;
    CHECK_OK(gb_ckpt_load(path, &m2, &opt2, &st2));
    REQUIRE(m2);
    uint8_t d1[32], d2[32];
    gb_model_weights_sha256(m, d1);
    gb_model_weights_sha256(m2, d2);
    CHECK(!memcmp(d1, d2, 32));
    CHECK(opt2.step == 17 && st2.step == 17 && st2.tokens == 1234 && st2.elapsed_s == 1.5);
    CHECK(st2.cursor.epoch == 1 && st2.cursor.window == 5 && st2.cursor.rng[3] == 4);
    for (int i = 0; i < m->n_tensors; i++) {
        const gb_tensor_info *t = &m->tensors[i];
        CHECK(!memcmp(opt.m + t->offset, opt2.m + t->offset, (size_t)t->numel * 4));
        CHECK(!memcmp(opt.v + t->offset, opt2.v + t->offset, (size_t)t->numel * 4));
    }
    /* the llama GGUF metadata */
    gb_gguf *g = NULL;
    REQUIRE(gb_gguf_open(&g, path) == GB_OK);
    gb_gguf_str s;
    CHECK(gb_gguf_get_str(g, "general.architecture", &s) == GB_OK && gb_gguf_str_eq(s, "llama"));
    int64_t v;
    double f;
    CHECK(gb_gguf_get_int(g, "llama.attention.head_count_kv", &v) == GB_OK && v == 2);
    CHECK(gb_gguf_get_int(g, "llama.rope.dimension_count", &v) == GB_OK && v == 8);
    CHECK(gb_gguf_get_int(g, "llama.context_length", &v) == GB_OK && v == 16);
    CHECK(gb_gguf_get_float(g, "llama.rope.freq_base", &f) == GB_OK && f == 10000.0);
    CHECK(gb_gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &f) == GB_OK && fabs(f - 1e-5) < 1e-9);
    CHECK(gb_gguf_find_tensor(g, "blk.0.attn_q.weight") && gb_gguf_find_tensor(g, "blk.0.ffn_gate.weight") &&
          gb_gguf_find_tensor(g, "output.weight") && gb_gguf_find_tensor(g, "glassbox.adamw_v.output.weight"));
    gb_gguf_close(g);
    /* a weights-only file has no training state */
    const char *wpath = gb_test_path("%s/rt-w.gguf", gb_test_tmpdir());
    CHECK_OK(gb_ckpt_save(wpath, NULL, m, NULL, NULL, NULL, NULL));
    CHECK(gb_ckpt_read_config(wpath, &c2) == GB_ERR_FORMAT && strstr(gb_last_error(), "training state"));
    gb_model_free(m2);
    m2 = NULL;
    CHECK_OK(gb_ckpt_load(wpath, &m2, NULL, NULL));
    gb_model_free(m);
    gb_model_free(m2);
    gb_adamw_free(&opt);
    gb_adamw_free(&opt2);
}

/* The GGUF tokenizer keys: merges recovered from the vocabulary reproduce the trainer's. */
TEST(train_gguf_tokenizer_merges) {
    REQUIRE(train_fixture_data());
    gb_tokenizer *tok = NULL;
    REQUIRE(gb_tokenizer_load(&tok, train_fixture_tokenizer()) == GB_OK);
    gb_gguf_writer *w = NULL;
    REQUIRE(gb_gguf_writer_new(&w) == GB_OK);
    CHECK_OK(gb_gguf_add_tokenizer(w, tok));
    const char *path = gb_test_path("%s/tok.gguf", gb_test_tmpdir());
    CHECK_OK(gb_gguf_write(w, path));
    gb_gguf_writer_free(w);
    gb_gguf *g = NULL;
    REQUIRE(gb_gguf_open(&g, path) == GB_OK);
    gb_gguf_arr toks, merges, types;
    CHECK_OK(gb_gguf_get_arr(g, "tokenizer.ggml.tokens", GB_GGUF_STRING, &toks));
    CHECK_OK(gb_gguf_get_arr(g, "tokenizer.ggml.merges", GB_GGUF_STRING, &merges));
    CHECK_OK(gb_gguf_get_arr(g, "tokenizer.ggml.token_type", GB_GGUF_INT32, &types));
    CHECK_EQ_INT(toks.n, 300);
    CHECK_EQ_INT(types.n, 300);
    /* the trainer's layout: 256 bytes, 43 merges, <|endoftext|> */
    CHECK_EQ_INT(merges.n, 43);
    CHECK(gb_gguf_str_eq(gb_gguf_arr_str(&toks, 32), "Ġ")); /* byte 0x20 */
    CHECK(gb_gguf_str_eq(gb_gguf_arr_str(&toks, 299), "<|endoftext|>"));
    CHECK_EQ_INT(gb_gguf_arr_i32(&types, 299), 3);
    CHECK_EQ_INT(gb_gguf_arr_i32(&types, 0), 1);
    /* merge i joins to token 256+i */
    for (uint64_t i = 0; i < merges.n; i++) {
        gb_gguf_str ms = gb_gguf_arr_str(&merges, i), ts = gb_gguf_arr_str(&toks, 256 + i);
        char joined[256];
        size_t k = 0;
        for (uint64_t j = 0; j < ms.len && k < sizeof joined - 1; j++)
            if (ms.ptr[j] != ' ') joined[k++] = ms.ptr[j];
        CHECK(k == ts.len && !memcmp(joined, ts.ptr, k));
    }
    int64_t eos;
    CHECK(gb_gguf_get_int(g, "tokenizer.ggml.eos_token_id", &eos) == GB_OK && eos == 299);
    /* what llama.cpp's loader rebuilds from these keys encodes as the original */
    gb_tokenizer *back = NULL;
    CHECK_OK(gb_tokenizer_load_gguf(&back, g));
    gb_gguf_close(g);
    if (back) {
        const char *text = "1:1 the LORD said unto Moses, and Aaron went out of Egypt.\n<|endoftext|>x";
        gb_ids a = {0}, b = {0};
        CHECK_OK(gb_tokenizer_encode(tok, text, strlen(text), 1, &a));
        CHECK_OK(gb_tokenizer_encode(back, text, strlen(text), 1, &b));
        CHECK(a.len == b.len && a.len > 0 && !memcmp(a.data, b.data, (size_t)a.len * 4));
        gb_ids_free(&a), gb_ids_free(&b);
        gb_tokenizer_free(back);
    }
    gb_tokenizer_free(tok);
}

/* The same on GPT-2's real vocabulary (tiktoken ranks, 50,000 merges to recover). */
TEST(train_gguf_tokenizer_gpt2_round_trip) {
    gb_tokenizer *tok = NULL, *back = NULL;
    REQUIRE(gb_tokenizer_load(&tok, "data/vocab/gpt2/r50k_base.tiktoken") == GB_OK);
    gb_gguf_writer *w = NULL;
    REQUIRE(gb_gguf_writer_new(&w) == GB_OK);
    CHECK_OK(gb_gguf_add_tokenizer(w, tok));
    const char *path = gb_test_path("%s/gpt2tok.gguf", gb_test_tmpdir());
    CHECK_OK(gb_gguf_write(w, path));
    gb_gguf_writer_free(w);
    gb_gguf *g = NULL;
    REQUIRE(gb_gguf_open(&g, path) == GB_OK);
    gb_gguf_arr merges;
    CHECK_OK(gb_gguf_get_arr(g, "tokenizer.ggml.merges", GB_GGUF_STRING, &merges));
    CHECK_EQ_INT(merges.n, 50000);
    CHECK(gb_gguf_str_eq(gb_gguf_arr_str(&merges, 0), "Ġ t")); /* GPT-2's first merge */
    CHECK_OK(gb_tokenizer_load_gguf(&back, g));
    gb_gguf_close(g);
    char *text = NULL;
    size_t len;
    REQUIRE(gb_read_file("data/corpora/kjv.txt.gz", 0, &text, &len) == GB_OK);
    if (back) {
        size_t n = len < 200000 ? len : 200000;
        gb_ids a = {0}, b = {0};
        CHECK_OK(gb_tokenizer_encode(tok, text, n, 0, &a));
        CHECK_OK(gb_tokenizer_encode(back, text, n, 0, &b));
        CHECK(a.len == b.len && a.len > 0 && !memcmp(a.data, b.data, (size_t)a.len * 4));
        gb_ids_free(&a), gb_ids_free(&b);
    }
    gb_free(text);
    gb_tokenizer_free(back);
    gb_tokenizer_free(tok);
}

TEST(train_plot_svg) {
    int64_t step[5] = {1, 2, 3, 4, 5};
    float loss[5] = {5, 4, 3.5f, 3.2f, 3.1f}, val[5] = {NAN, NAN, 3.6f, NAN, 3.3f};
    const char *path = gb_test_path("%s/p.svg", gb_test_tmpdir());
    CHECK_OK(gb_train_plot_svg(path, step, loss, val, 5));
    char *s = NULL;
    size_t len;
    REQUIRE(gb_read_file(path, 0, &s, &len) == GB_OK);
    CHECK(!strncmp(s, "<svg", 4) && strstr(s, "</svg>") && strstr(s, "validation loss") && strstr(s, ">step<"));
    gb_free(s);
    CHECK_OK(gb_train_plot_svg(path, step, loss, val, 0)); /* empty: still a valid plot */
}
