/* glassbox — chat templates: a conversation (role, content) → the prompt text a chat model
 * was trained on.
 *
 * A GGUF chat model carries its template as Jinja source in `tokenizer.chat_template`.
 * glassbox does not run Jinja: it recognises the template's family from distinctive markers
 * (gb_chat_detect) and renders that family in C, byte for byte what the reference templates
 * produce for plain conversations (system / user / assistant; no tools). docs/chat.md lists
 * the families, the markers and where rendering follows a family's quirks. */
#ifndef GLASSBOX_CHAT_H
#define GLASSBOX_CHAT_H

#include "glassbox/error.h"
#include "glassbox/tokenizer.h"

typedef enum {
    GB_CHAT_PLAIN = 0, /* "User: ...\n" lines, for base models without a template */
    GB_CHAT_CHATML,    /* <|im_start|>role\n...<|im_end|>\n (Qwen, Hermes, SmolLM, ...) */
    GB_CHAT_LLAMA2,    /* <s>[INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST] ... </s> */
    GB_CHAT_LLAMA3,    /* <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|> */
    GB_CHAT_LLAMA31,   /* Llama 3.1+: as llama3 with the "Cutting Knowledge Date" system header */
    GB_CHAT_MISTRAL,   /* [INST]...[/INST]...</s>, system before the last user message (v3 / Nemo) */
    GB_CHAT_ZEPHYR,    /* <|user|>\n...</s>\n (eos after each turn) */
    GB_CHAT_GEMMA,     /* <start_of_turn>user\n...<end_of_turn>\n; assistant is "model" */
    GB_CHAT_PHI3,      /* <|user|>\n...<|end|>\n */
    GB_CHAT_N_FAMILIES
} gb_chat_family;

typedef struct gb_chat_message {
    const char *role;    /* "system", "user" or "assistant" */
    const char *content; /* UTF-8, NUL-terminated */
} gb_chat_message;

/* "plain", "chatml", "llama2", "llama3", "llama3.1", "mistral", "zephyr", "gemma", "phi3". */
const char *gb_chat_family_name(gb_chat_family f);
/* The family called `name` (as above; case-insensitive); GB_ERR_ARG listing the names. */
gb_status gb_chat_family_from_name(const char *name, gb_chat_family *out);
/* A comma-separated list of the names, for help and error texts. */
const char *gb_chat_family_names(void);

/* The family of Jinja template text `tmpl` (len bytes), from its markers. NULL or empty:
 * GB_CHAT_PLAIN. A template of no known family: GB_ERR_FORMAT, naming its first line and
 * suggesting --template NAME. */
gb_status gb_chat_detect(const char *tmpl, size_t len, gb_chat_family *out);

/* Appends the prompt for msgs[0..n) to *out (not NUL-terminated; out->len grows). With
 * add_generation_prompt the text ends with the opening of an assistant turn. bos and eos
 * are the texts the template's bos_token / eos_token stand for (NULL: ""); families whose
 * reference template writes bos_token (llama2, llama3, llama3.1, mistral, gemma) put it
 * where the template does, so encode the result with special tokens allowed and do not
 * add another BOS. An unknown role, or a system message where the family has no place for
 * one (not first), is GB_ERR_ARG. */
gb_status gb_chat_render(gb_chat_family f, const gb_chat_message *msgs, int n, int add_generation_prompt,
                         const char *bos, const char *eos, gb_bytes *out);

/* Texts that end an assistant turn in family f (e.g. "<|im_end|>"), for stop strings;
 * *n receives how many. eos is added by the caller where the family ends turns with it. */
const char *const *gb_chat_stop_strings(gb_chat_family f, int *n);

#endif
