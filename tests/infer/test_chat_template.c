/* glassbox — chat template tests: detection of real models' templates
 * (../shared/vocab/templates, skipped when absent) and of hand-copied reference templates,
 * and renders of one conversation compared with the text each Jinja template produces
 * (written out by hand from reading the template). */
#include <stdlib.h>

#include "glassbox/chat.h"
#include "glassbox/fileio.h"
#include "test.h"

#define TDIR "../shared/vocab/templates/"

/* The conversation every render test uses; the last user message has whitespace at both
 * ends, so the families that trim show it. */
static const gb_chat_message conv[] = {
    {"system", "You are terse."},
    {"user", "Hi there"},
    {"assistant", "Hello! How can I help?"},
    {"user", "  What is 2+2?\n"},
};

static char *slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    char *buf = malloc(1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, fp) : 0;
    fclose(fp);
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

/* Detects the family of a shared template file; -2 when the file is missing, -1 on error. */
static int detect_file(const char *name) {
    size_t len;
    char path[512];
    snprintf(path, sizeof path, TDIR "%s", name);
    char *t = slurp(path, &len);
    if (!t) return -2;
    gb_chat_family f;
    int r = gb_chat_detect(t, len, &f) == GB_OK ? (int)f : -1;
    free(t);
    return r;
}

static int render_is(gb_chat_family f, const gb_chat_message *m, int n, int gen, const char *bos,
                     const char *eos, const char *want) {
    gb_bytes out = {0};
    gb_status rc = gb_chat_render(f, m, n, gen, bos, eos, &out);
    int ok = rc == GB_OK && out.len == strlen(want) && (out.len == 0 || !memcmp(out.data, want, out.len));
    if (!ok)
        fprintf(stderr, "    %s render:\n----\n%.*s\n---- want:\n%s\n----\n", gb_chat_family_name(f), (int)out.len,
                out.data ? (const char *)out.data : "", want);
    gb_bytes_free(&out);
    return ok;
}

TEST(infer_chat_detect_shared_templates) {
    static const struct {
        const char *file;
        int family; /* -1: unknown (GB_ERR_FORMAT) */
    } cases[] = {
        {"Qwen-Qwen2.5-7B-Instruct.jinja", GB_CHAT_CHATML},
        {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", GB_CHAT_CHATML},
        {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", GB_CHAT_CHATML},
        {"meta-llama-Llama-3.1-8B-Instruct.jinja", GB_CHAT_LLAMA31},
        {"meta-llama-Llama-3.2-3B-Instruct.jinja", GB_CHAT_LLAMA31},
        {"meta-llama-Llama-3.3-70B-Instruct.jinja", GB_CHAT_LLAMA31},
        {"meetkai-functionary-medium-v3.1.jinja", GB_CHAT_LLAMA31},
        {"meetkai-functionary-medium-v3.2.jinja", GB_CHAT_LLAMA3},
        {"fireworks-ai-llama-3-firefunction-v2.jinja", GB_CHAT_LLAMA3},
        {"google-gemma-2-2b-it.jinja", GB_CHAT_GEMMA},
        {"microsoft-Phi-3.5-mini-instruct.jinja", GB_CHAT_PHI3},
        {"mistralai-Mistral-Nemo-Instruct-2407.jinja", GB_CHAT_MISTRAL},
        {"CohereForAI-c4ai-command-r-plus-tool_use.jinja", -1},
        {"CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", -1},
        {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", -1},
        {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", -1},
        {"llama-cpp-deepseek-r1.jinja", -1},
    };
    int missing = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int got = detect_file(cases[i].file);
        if (got == -2) {
            missing++;
            continue;
        }
        if (got != cases[i].family)
            gb_test_fail(__FILE__, __LINE__, "%s detected as %s, want %s", cases[i].file,
                         got < 0 ? "unknown" : gb_chat_family_name((gb_chat_family)got),
                         cases[i].family < 0 ? "unknown" : gb_chat_family_name((gb_chat_family)cases[i].family));
    }
    if (missing) gb_test_skip("../shared/vocab/templates not found (real templates not checked)");
}

TEST(infer_chat_unknown_template_error) {
    const char *t = "{% for m in messages %}<|START_OF_TURN_TOKEN|>{{ m.content }}{% endfor %}";
    gb_chat_family f = GB_CHAT_PHI3;
    CHECK(gb_chat_detect(t, strlen(t), &f) == GB_ERR_FORMAT);
    CHECK(strstr(gb_last_error(), "unknown chat template") != NULL);
    CHECK(strstr(gb_last_error(), "--template") != NULL);
    CHECK(strstr(gb_last_error(), "START_OF_TURN") != NULL);
    CHECK(strchr(gb_last_error(), '\n') == NULL);
    CHECK(gb_chat_detect(NULL, 0, &f) == GB_OK && f == GB_CHAT_PLAIN);
}

TEST(infer_chat_family_names) {
    for (int i = 0; i < GB_CHAT_N_FAMILIES; i++) {
        gb_chat_family f;
        CHECK_OK(gb_chat_family_from_name(gb_chat_family_name((gb_chat_family)i), &f));
        CHECK_EQ_INT(f, i);
    }
    gb_chat_family f;
    CHECK(gb_chat_family_from_name("ChatML", &f) == GB_OK && f == GB_CHAT_CHATML);
    CHECK(gb_chat_family_from_name("vicuna", &f) == GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "chatml") != NULL);
}

/* Qwen2.5-Instruct (ChatML): nothing trimmed, no BOS. */
TEST(infer_chat_render_chatml_qwen) {
    CHECK(detect_file("Qwen-Qwen2.5-7B-Instruct.jinja") != -1);
    CHECK(render_is(GB_CHAT_CHATML, conv, 4, 1, "", "<|im_end|>",
                    "<|im_start|>system\nYou are terse.<|im_end|>\n"
                    "<|im_start|>user\nHi there<|im_end|>\n"
                    "<|im_start|>assistant\nHello! How can I help?<|im_end|>\n"
                    "<|im_start|>user\n  What is 2+2?\n<|im_end|>\n"
                    "<|im_start|>assistant\n"));
    CHECK(render_is(GB_CHAT_CHATML, conv + 1, 1, 0, "", "", "<|im_start|>user\nHi there<|im_end|>\n"));
}

/* Llama 3.1 / 3.2 / 3.3: the knowledge-date system header always, contents trimmed. */
TEST(infer_chat_render_llama31) {
    const char *want = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                       "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
                       "You are terse.<|eot_id|>"
                       "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\nHello! How can I help?<|eot_id|>"
                       "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\n";
    CHECK(render_is(GB_CHAT_LLAMA31, conv, 4, 1, "<|begin_of_text|>", "<|eot_id|>", want));
    /* without a system message the header is still there, with nothing after the date */
    CHECK(render_is(GB_CHAT_LLAMA31, conv + 1, 1, 0, "<|begin_of_text|>", "",
                    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                    "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
                    "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"));
}

/* The original Meta-Llama-3-8B-Instruct template (copied from its tokenizer_config.json). */
static const char llama3_tmpl[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% "
    "endif %}";

TEST(infer_chat_render_llama3) {
    gb_chat_family f;
    CHECK(gb_chat_detect(llama3_tmpl, strlen(llama3_tmpl), &f) == GB_OK && f == GB_CHAT_LLAMA3);
    CHECK(render_is(GB_CHAT_LLAMA3, conv, 4, 1, "<|begin_of_text|>", "<|eot_id|>",
                    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                    "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                    "<|start_header_id|>assistant<|end_header_id|>\n\nHello! How can I help?<|eot_id|>"
                    "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                    "<|start_header_id|>assistant<|end_header_id|>\n\n"));
}

/* meta-llama/Llama-2-7b-chat-hf's template (from its tokenizer_config.json). */
static const char llama2_tmpl[] =
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
    "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% "
    "endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
    "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif "
    "message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

TEST(infer_chat_render_llama2) {
    gb_chat_family f;
    CHECK(gb_chat_detect(llama2_tmpl, strlen(llama2_tmpl), &f) == GB_OK && f == GB_CHAT_LLAMA2);
    CHECK(render_is(GB_CHAT_LLAMA2, conv, 4, 1, "<s>", "</s>",
                    "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi there [/INST] Hello! How can I help? </s>"
                    "<s>[INST] What is 2+2? [/INST]"));
    /* a system message after the first is not what this template can express */
    const gb_chat_message bad[] = {{"user", "a"}, {"system", "b"}};
    gb_bytes out = {0};
    CHECK(gb_chat_render(GB_CHAT_LLAMA2, bad, 2, 1, "<s>", "</s>", &out) == GB_ERR_ARG);
    gb_bytes_free(&out);
}

/* Mistral-Nemo-Instruct-2407: the system text joins the last message when it is a user's. */
TEST(infer_chat_render_mistral_nemo) {
    CHECK(render_is(GB_CHAT_MISTRAL, conv, 4, 1, "<s>", "</s>",
                    "<s>[INST]Hi there[/INST]Hello! How can I help?</s>"
                    "[INST]You are terse.\n\n  What is 2+2?\n[/INST]"));
    /* ending with the assistant's message, the template drops the system text */
    CHECK(render_is(GB_CHAT_MISTRAL, conv, 3, 0, "<s>", "</s>", "<s>[INST]Hi there[/INST]Hello! How can I help?</s>"));
}

/* HuggingFaceH4/zephyr-7b-beta's template (transformers renders with trim_blocks). */
static const char zephyr_tmpl[] =
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + message['content'] + "
    "eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\\n' + message['content'] + eos_token "
    "}}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\\n'  + message['content'] + eos_token }}\n"
    "{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

TEST(infer_chat_render_zephyr) {
    gb_chat_family f;
    CHECK(gb_chat_detect(zephyr_tmpl, strlen(zephyr_tmpl), &f) == GB_OK && f == GB_CHAT_ZEPHYR);
    CHECK(render_is(GB_CHAT_ZEPHYR, conv, 4, 1, "<s>", "</s>",
                    "<|system|>\nYou are terse.</s>\n<|user|>\nHi there</s>\n"
                    "<|assistant|>\nHello! How can I help?</s>\n<|user|>\n  What is 2+2?\n</s>\n<|assistant|>\n"));
}

/* gemma-2-2b-it: "model" for the assistant, contents trimmed, bos first. The template
 * refuses a system message; glassbox joins it to the first user message (as llama.cpp). */
TEST(infer_chat_render_gemma) {
    CHECK(render_is(GB_CHAT_GEMMA, conv + 1, 3, 1, "<bos>", "<eos>",
                    "<bos><start_of_turn>user\nHi there<end_of_turn>\n"
                    "<start_of_turn>model\nHello! How can I help?<end_of_turn>\n"
                    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n"));
    CHECK(render_is(GB_CHAT_GEMMA, conv, 2, 1, "<bos>", "<eos>",
                    "<bos><start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n<start_of_turn>model\n"));
}

/* Phi-3.5-mini-instruct: nothing trimmed; eos at the end without a generation prompt. */
TEST(infer_chat_render_phi3) {
    CHECK(render_is(GB_CHAT_PHI3, conv, 4, 1, "<s>", "<|endoftext|>",
                    "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi there<|end|>\n"
                    "<|assistant|>\nHello! How can I help?<|end|>\n<|user|>\n  What is 2+2?\n<|end|>\n"
                    "<|assistant|>\n"));
    const gb_chat_message m[] = {{"system", ""}, {"user", "x"}};
    CHECK(render_is(GB_CHAT_PHI3, m, 2, 0, "<s>", "<|endoftext|>", "<|user|>\nx<|end|>\n<|endoftext|>"));
}

TEST(infer_chat_render_plain) {
    CHECK(render_is(GB_CHAT_PLAIN, conv, 3, 1, "", "",
                    "System: You are terse.\nUser: Hi there\nAssistant: Hello! How can I help?\nAssistant:"));
    const gb_chat_message bad[] = {{"tool", "x"}};
    gb_bytes out = {0};
    CHECK(gb_chat_render(GB_CHAT_PLAIN, bad, 1, 1, "", "", &out) == GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "tool") != NULL);
    gb_bytes_free(&out);
}

TEST(infer_chat_stop_strings) {
    for (int i = 0; i < GB_CHAT_N_FAMILIES; i++) {
        int n = 0;
        const char *const *s = gb_chat_stop_strings((gb_chat_family)i, &n);
        CHECK(n > 0 && s[0] && s[0][0]);
    }
}
