/* glassbox — chat templates: detection from Jinja source by markers, rendering in C.
 *
 * Each family's renderer follows one reference template (named above it) exactly for
 * system / user / assistant conversations: where it trims content (Jinja's `trim` and
 * Python's str.strip(): leading and trailing whitespace), where bos_token and eos_token go,
 * and what add_generation_prompt appends. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "glassbox/chat.h"

static const char *const family_names[GB_CHAT_N_FAMILIES] = {
    [GB_CHAT_PLAIN] = "plain",     [GB_CHAT_CHATML] = "chatml",    [GB_CHAT_LLAMA2] = "llama2",
    [GB_CHAT_LLAMA3] = "llama3",   [GB_CHAT_LLAMA31] = "llama3.1", [GB_CHAT_MISTRAL] = "mistral",
    [GB_CHAT_ZEPHYR] = "zephyr",   [GB_CHAT_GEMMA] = "gemma",      [GB_CHAT_PHI3] = "phi3",
};

const char *gb_chat_family_name(gb_chat_family f) {
    return (unsigned)f < GB_CHAT_N_FAMILIES ? family_names[f] : "?";
}

const char *gb_chat_family_names(void) {
    return "plain, chatml, llama2, llama3, llama3.1, mistral, zephyr, gemma, phi3";
}

gb_status gb_chat_family_from_name(const char *name, gb_chat_family *out) {
    for (int i = 0; i < GB_CHAT_N_FAMILIES; i++)
        if (!strcasecmp(name, family_names[i])) {
            *out = (gb_chat_family)i;
            return GB_OK;
        }
    return gb_errorf(GB_ERR_ARG, "unknown chat template '%s' (known: %s)", name, gb_chat_family_names());
}

static int has(const char *t, size_t len, const char *marker) {
    return memmem(t, len, marker, strlen(marker)) != NULL;
}

gb_status gb_chat_detect(const char *t, size_t len, gb_chat_family *out) {
    gb_chat_family f;
    if (!t || len == 0)
        f = GB_CHAT_PLAIN;
    else if (has(t, len, "<|im_start|>"))
        f = GB_CHAT_CHATML;
    else if (has(t, len, "<|start_header_id|>") && has(t, len, "<|end_header_id|>"))
        f = has(t, len, "Cutting Knowledge Date") ? GB_CHAT_LLAMA31 : GB_CHAT_LLAMA3;
    else if (has(t, len, "<start_of_turn>"))
        f = GB_CHAT_GEMMA;
    else if (has(t, len, "<|user|>") && has(t, len, "<|end|>"))
        f = GB_CHAT_PHI3;
    else if (has(t, len, "<|user|>") && has(t, len, "<|assistant|>"))
        f = GB_CHAT_ZEPHYR;
    else if (has(t, len, "[INST]"))
        f = has(t, len, "<<SYS>>") ? GB_CHAT_LLAMA2 : GB_CHAT_MISTRAL;
    else {
        /* name the template by its first non-blank line, shortened */
        size_t i = 0;
        while (i < len && (t[i] == ' ' || t[i] == '\n' || t[i] == '\r' || t[i] == '\t')) i++;
        size_t j = i;
        while (j < len && t[j] != '\n' && t[j] != '\r' && j - i < 60) j++;
        return gb_errorf(GB_ERR_FORMAT,
                         "unknown chat template (it begins \"%.*s%s\"); pass --template NAME, one of: %s",
                         (int)(j - i), t + i, j < len && t[j] != '\n' ? "..." : "", gb_chat_family_names());
    }
    *out = f;
    return GB_OK;
}

/* ---- rendering ---- */

typedef struct {
    gb_bytes *out;
    gb_status rc;
} sink;

static void put_n(sink *s, const char *p, size_t n) {
    if (s->rc == GB_OK && n) s->rc = gb_bytes_append(s->out, p, n);
}
static void put(sink *s, const char *p) {
    if (p) put_n(s, p, strlen(p));
}

/* Python's str.strip() whitespace within ASCII: \t \n \v \f \r, \x1c-\x1f and space. */
static int is_ws(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

static void put_trim(sink *s, const char *p) {
    size_t n = strlen(p), a = 0;
    while (a < n && is_ws((unsigned char)p[a])) a++;
    while (n > a && is_ws((unsigned char)p[n - 1])) n--;
    put_n(s, p + a, n - a);
}

static int is_role(const gb_chat_message *m, const char *role) { return !strcmp(m->role, role); }

static gb_status check_roles(const gb_chat_message *msgs, int n, int system_first_only) {
    for (int i = 0; i < n; i++) {
        if (!msgs[i].role || !msgs[i].content) return gb_errorf(GB_ERR_ARG, "chat message %d has no role or content", i);
        if (!is_role(&msgs[i], "system") && !is_role(&msgs[i], "user") && !is_role(&msgs[i], "assistant"))
            return gb_errorf(GB_ERR_ARG, "chat message %d: unknown role '%s' (system, user or assistant)", i,
                             msgs[i].role);
        if (system_first_only && i > 0 && is_role(&msgs[i], "system"))
            return gb_errorf(GB_ERR_ARG, "chat message %d: this template takes a system message only first", i);
    }
    return GB_OK;
}

/* ChatML as Qwen2.5-Instruct writes it when the conversation has a system message (Qwen
 * adds its own default system text otherwise; generic ChatML does not). */
static void render_chatml(sink *s, const gb_chat_message *m, int n, int gen) {
    for (int i = 0; i < n; i++) {
        put(s, "<|im_start|>"), put(s, m[i].role), put(s, "\n"), put(s, m[i].content), put(s, "<|im_end|>\n");
    }
    if (gen) put(s, "<|im_start|>assistant\n");
}

/* meta-llama/Llama-2-7b-chat-hf: the system text goes inside the first [INST] between
 * <<SYS>> markers; every user turn starts with bos; contents are stripped; no generation
 * prompt (the text already ends with " [/INST]"). */
static void render_llama2(sink *s, const gb_chat_message *m, int n, const char *bos, const char *eos) {
    const char *sys = NULL;
    if (n > 0 && is_role(&m[0], "system")) sys = m[0].content, m++, n--;
    for (int i = 0; i < n; i++) {
        if (is_role(&m[i], "user")) {
            put(s, bos), put(s, "[INST] ");
            if (i == 0 && sys) {
                /* strip() of "<<SYS>>\n" + sys + "\n<</SYS>>\n\n" + content: only the end trims */
                put(s, "<<SYS>>\n"), put(s, sys), put(s, "\n<</SYS>>\n\n");
                size_t len = strlen(m[i].content);
                while (len > 0 && is_ws((unsigned char)m[i].content[len - 1])) len--;
                put_n(s, m[i].content, len);
            } else {
                put_trim(s, m[i].content);
            }
            put(s, " [/INST]");
        } else if (is_role(&m[i], "assistant")) {
            put(s, " ");
            if (i == 0 && sys) put(s, "<<SYS>>\n"), put(s, sys), put(s, "\n<</SYS>>\n\n");
            put_trim(s, m[i].content), put(s, " "), put(s, eos);
        }
    }
}

/* meta-llama/Meta-Llama-3-8B-Instruct (llama3) and Llama-3.1/3.2/3.3-Instruct (llama3.1,
 * with no tools and the template's default date "26 Jul 2024"). */
static void render_llama3(sink *s, const gb_chat_message *m, int n, int gen, int v31, const char *bos) {
    if (v31) {
        put(s, bos);
        put(s, "<|start_header_id|>system<|end_header_id|>\n\n"
               "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
        if (n > 0 && is_role(&m[0], "system")) put_trim(s, m[0].content), m++, n--;
        put(s, "<|eot_id|>");
    } else if (n > 0) {
        put(s, bos);
    }
    for (int i = 0; i < n; i++) {
        put(s, "<|start_header_id|>"), put(s, m[i].role), put(s, "<|end_header_id|>\n\n");
        put_trim(s, m[i].content), put(s, "<|eot_id|>");
    }
    if (gen) put(s, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* mistralai/Mistral-Nemo-Instruct-2407: no spaces around [INST]; the system text goes
 * before the user text of the conversation's last message (when that is a user's). */
static void render_mistral(sink *s, const gb_chat_message *m, int n, const char *bos, const char *eos) {
    const char *sys = NULL;
    if (n > 0 && is_role(&m[0], "system")) sys = m[0].content, m++, n--;
    put(s, bos);
    for (int i = 0; i < n; i++) {
        if (is_role(&m[i], "user")) {
            put(s, "[INST]");
            if (i == n - 1 && sys) put(s, sys), put(s, "\n\n");
            put(s, m[i].content), put(s, "[/INST]");
        } else {
            put(s, m[i].content), put(s, eos);
        }
    }
}

/* HuggingFaceH4/zephyr-7b-beta (rendered with trim_blocks, as transformers does). */
static void render_zephyr(sink *s, const gb_chat_message *m, int n, int gen, const char *eos) {
    for (int i = 0; i < n; i++) {
        put(s, "<|"), put(s, m[i].role), put(s, "|>\n"), put(s, m[i].content), put(s, eos), put(s, "\n");
    }
    if (gen) put(s, "<|assistant|>\n");
}

/* google/gemma-2-2b-it. The template refuses a system message; like llama.cpp, glassbox
 * puts its (trimmed) text before the first user message's, separated by a blank line. */
static void render_gemma(sink *s, const gb_chat_message *m, int n, int gen, const char *bos) {
    const char *sys = NULL;
    if (n > 0 && is_role(&m[0], "system")) sys = m[0].content, m++, n--;
    put(s, bos);
    for (int i = 0; i < n; i++) {
        put(s, "<start_of_turn>"), put(s, is_role(&m[i], "assistant") ? "model" : m[i].role), put(s, "\n");
        if (i == 0 && sys) put_trim(s, sys), put(s, "\n\n");
        put_trim(s, m[i].content), put(s, "<end_of_turn>\n");
    }
    if (gen) put(s, "<start_of_turn>model\n");
}

/* microsoft/Phi-3.5-mini-instruct: an empty system message is left out; without a
 * generation prompt the text ends with eos. */
static void render_phi3(sink *s, const gb_chat_message *m, int n, int gen, const char *eos) {
    for (int i = 0; i < n; i++) {
        if (is_role(&m[i], "system") && !m[i].content[0]) continue;
        put(s, "<|"), put(s, m[i].role), put(s, "|>\n"), put(s, m[i].content), put(s, "<|end|>\n");
    }
    put(s, gen ? "<|assistant|>\n" : eos);
}

/* glassbox's own, for base models: "System: ...\nUser: ...\nAssistant: ...\n". */
static void render_plain(sink *s, const gb_chat_message *m, int n, int gen) {
    for (int i = 0; i < n; i++) {
        put(s, is_role(&m[i], "system") ? "System: " : is_role(&m[i], "user") ? "User: " : "Assistant: ");
        put(s, m[i].content), put(s, "\n");
    }
    if (gen) put(s, "Assistant:");
}

gb_status gb_chat_render(gb_chat_family f, const gb_chat_message *msgs, int n, int add_generation_prompt,
                         const char *bos, const char *eos, gb_bytes *out) {
    if (n < 0) return gb_errorf(GB_ERR_ARG, "chat: negative message count");
    int first_only = f == GB_CHAT_LLAMA2 || f == GB_CHAT_MISTRAL || f == GB_CHAT_GEMMA;
    gb_status rc = check_roles(msgs, n, first_only);
    if (rc != GB_OK) return rc;
    if (!bos) bos = "";
    if (!eos) eos = "";
    sink s = {out, GB_OK};
    const int gen = add_generation_prompt;
    switch (f) {
    case GB_CHAT_PLAIN: render_plain(&s, msgs, n, gen); break;
    case GB_CHAT_CHATML: render_chatml(&s, msgs, n, gen); break;
    case GB_CHAT_LLAMA2: render_llama2(&s, msgs, n, bos, eos); break;
    case GB_CHAT_LLAMA3: render_llama3(&s, msgs, n, gen, 0, bos); break;
    case GB_CHAT_LLAMA31: render_llama3(&s, msgs, n, gen, 1, bos); break;
    case GB_CHAT_MISTRAL: render_mistral(&s, msgs, n, bos, eos); break;
    case GB_CHAT_ZEPHYR: render_zephyr(&s, msgs, n, gen, eos); break;
    case GB_CHAT_GEMMA: render_gemma(&s, msgs, n, gen, bos); break;
    case GB_CHAT_PHI3: render_phi3(&s, msgs, n, gen, eos); break;
    default: return gb_errorf(GB_ERR_ARG, "chat: unknown template family %d", (int)f);
    }
    return s.rc;
}

const char *const *gb_chat_stop_strings(gb_chat_family f, int *n) {
    static const char *const plain[] = {"\nUser:"};
    static const char *const chatml[] = {"<|im_end|>", "<|im_start|>"};
    static const char *const llama2[] = {"[INST]"};
    static const char *const llama3[] = {"<|eot_id|>", "<|end_of_text|>", "<|eom_id|>", "<|start_header_id|>"};
    static const char *const zephyr[] = {"<|user|>"};
    static const char *const gemma[] = {"<end_of_turn>", "<start_of_turn>"};
    static const char *const phi3[] = {"<|end|>", "<|endoftext|>", "<|user|>"};
#define RET(a) return (*n = (int)(sizeof a / sizeof *a), a)
    switch (f) {
    case GB_CHAT_CHATML: RET(chatml);
    case GB_CHAT_LLAMA2:
    case GB_CHAT_MISTRAL: RET(llama2);
    case GB_CHAT_LLAMA3:
    case GB_CHAT_LLAMA31: RET(llama3);
    case GB_CHAT_ZEPHYR: RET(zephyr);
    case GB_CHAT_GEMMA: RET(gemma);
    case GB_CHAT_PHI3: RET(phi3);
    default: RET(plain);
    }
#undef RET
}
