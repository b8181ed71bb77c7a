/* glassbox — tokenizer files: detecting, reading and writing them.
 *
 * Four sources, told apart by their content (docs/tokenizer-format.md has the details):
 *   glassbox JSON   an object with "format": "glassbox-tokenizer" (what gb_tokenizer_save writes)
 *   encoder.json    GPT-2's object of token string -> id (also Hugging Face's vocab.json), with
 *                   merges.txt or vocab.bpe ("A B" per line, rank = line order) beside it
 *   tiktoken        lines "base64(token bytes) rank"; ids are the ranks
 *   GGUF            a file starting with "GGUF": its tokenizer.ggml.* keys (tokenizer_gguf.c)
 * Token strings in JSON use GPT-2's byte <-> unicode mapping (bytes_to_unicode), so every
 * byte string is a printable string. Every file is treated as hostile: each count, id,
 * string and number is checked before use, and a bad one gives a one-line GB_ERR_FORMAT
 * message naming the file and the problem. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "glassbox/fileio.h"
#include "glassbox/gguf.h"
#include "glassbox/mem.h"
#include "tokenizer/tokenizer_impl.h"

#define MAX_FILE_BYTES (1ull << 30)
#define FORMAT_TAG "glassbox-tokenizer"
#define FORMAT_VERSION 1

/* ---- GPT-2's bytes_to_unicode ----
 * Printable bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for themselves; the other 68
 * (0x00..0x20, 0x7F..0xA0, 0xAD) become U+0100.. in byte order, so a space is 'Ġ' (U+0120). */

static int printable(uint32_t b) { return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae; }

uint32_t gb_gpt2_byte_to_cp(uint8_t b) {
    if (printable(b)) return b;
    if (b <= 0x20) return 256u + b;
    if (b >= 0x7f && b <= 0xa0) return 256u + 33 + (b - 0x7fu);
    return 256u + 67; /* 0xAD */
}

static int cp_to_byte(uint32_t cp) {
    if (cp < 256) return printable(cp) ? (int)cp : -1;
    cp -= 256;
    if (cp < 33) return (int)cp;
    if (cp < 67) return (int)(0x7f + cp - 33);
    if (cp == 67) return 0xad;
    return -1;
}

int64_t gb_gpt2_unmap(const char *str, size_t n, uint8_t *out) {
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0, m = 0;
    while (i < n) {
        uint32_t cp;
        uint8_t c = s[i];
        if (c < 0x80) {
            cp = c, i++;
        } else if ((c & 0xe0) == 0xc0 && i + 1 < n && (s[i + 1] & 0xc0) == 0x80) {
            cp = (uint32_t)(c & 0x1f) << 6 | (s[i + 1] & 0x3f);
            if (cp < 0x80) return -1;
            i += 2;
        } else {
            return -1; /* every mapped code point is below U+0800 */
        }
        int b = cp_to_byte(cp);
        if (b < 0) return -1;
        out[m++] = (uint8_t)b;
    }
    return (int64_t)m;
}

/* ---- a small byte-string -> id map for the loaders ---- */

typedef struct bmap {
    uint32_t *slot; /* id + 1; 0 = empty */
    uint64_t mask;
    const uint8_t *base;
    const uint64_t *off; /* id's bytes are base[off[id] .. off[id+1]) */
} bmap;

static gb_status bmap_init(bmap *m, uint64_t n, const uint8_t *base, const uint64_t *off) {
    uint64_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    m->slot = gb_calloc(cap, sizeof *m->slot);
    m->mask = cap - 1;
    m->base = base;
    m->off = off;
    return m->slot ? GB_OK : GB_ERR_NOMEM;
}

/* the id with these bytes, or -1; *at is the slot where it is or would go */
static int64_t bmap_find(const bmap *m, const uint8_t *p, size_t n, uint64_t *at) {
    uint64_t i = gb_tok_hash(p, n) & m->mask;
    for (;; i = (i + 1) & m->mask) {
        uint32_t s = m->slot[i];
        if (!s) break;
        uint32_t id = s - 1;
        if (m->off[id + 1] - m->off[id] == n && memcmp(m->base + m->off[id], p, n) == 0) {
            if (at) *at = i;
            return id;
        }
    }
    if (at) *at = i;
    return -1;
}

/* ---- JSON helpers ---- */

/* A whole number in [0, max] or -1. */
static int64_t json_index(const cJSON *item, int64_t max) {
    if (!cJSON_IsNumber(item)) return -1;
    double d = item->valuedouble;
    if (!(d >= 0 && d <= (double)max) || d != floor(d)) return -1;
    return (int64_t)d;
}

/* ---- glassbox JSON ---- */

static gb_status load_glassbox(gb_tokenizer **out, const char *path, const cJSON *root) {
    gb_status rc = GB_OK;
    gb_tokenizer *t = NULL;
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(root, "pattern");
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(root, "merge_rule");
    const cJSON *vsize = cJSON_GetObjectItemCaseSensitive(root, "vocab_size");
    const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(root, "tokens");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(root, "specials");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(root, "merges");
    int64_t v = json_index(ver, 1000000);
    if (v < 0) return gb_errorf(GB_ERR_FORMAT, "%s: \"version\" must be a whole number", path);
    if (v != FORMAT_VERSION)
        return gb_errorf(GB_ERR_FORMAT, "%s: format version %lld; this glassbox reads version %d", path,
                         (long long)v, FORMAT_VERSION);
    gb_pretok_kind pattern;
    if (!cJSON_IsString(pat)) return gb_errorf(GB_ERR_FORMAT, "%s: \"pattern\" must be a string", path);
    if (!strcmp(pat->valuestring, "gpt2")) pattern = GB_PRETOK_GPT2;
    else if (!strcmp(pat->valuestring, "cl100k")) pattern = GB_PRETOK_CL100K;
    else return gb_errorf(GB_ERR_FORMAT, "%s: unknown pattern (want \"gpt2\" or \"cl100k\")", path);
    gb_merge_rule mr;
    if (!cJSON_IsString(rule)) return gb_errorf(GB_ERR_FORMAT, "%s: \"merge_rule\" must be a string", path);
    if (!strcmp(rule->valuestring, "merges")) mr = GB_MERGE_LIST;
    else if (!strcmp(rule->valuestring, "ranks")) mr = GB_MERGE_RANKS;
    else return gb_errorf(GB_ERR_FORMAT, "%s: unknown merge_rule (want \"merges\" or \"ranks\")", path);
    int64_t n = json_index(vsize, GB_TOK_MAX_IDS);
    if (n < 1) return gb_errorf(GB_ERR_FORMAT, "%s: \"vocab_size\" must be a whole number from 1 to %u", path, GB_TOK_MAX_IDS);
    if (!cJSON_IsArray(tokens)) return gb_errorf(GB_ERR_FORMAT, "%s: \"tokens\" must be an array", path);
    if (cJSON_GetArraySize(tokens) != n)
        return gb_errorf(GB_ERR_FORMAT, "%s: \"tokens\" has %d entries but vocab_size is %lld", path,
                         cJSON_GetArraySize(tokens), (long long)n);
    if (specials && !cJSON_IsArray(specials)) return gb_errorf(GB_ERR_FORMAT, "%s: \"specials\" must be an array", path);
    if (mr == GB_MERGE_LIST && !cJSON_IsArray(merges))
        return gb_errorf(GB_ERR_FORMAT, "%s: \"merges\" must be an array (merge_rule \"merges\")", path);
    if (mr == GB_MERGE_RANKS && merges && !(cJSON_IsArray(merges) && cJSON_GetArraySize(merges) == 0))
        return gb_errorf(GB_ERR_FORMAT, "%s: merge_rule \"ranks\" takes no \"merges\"", path);

    /* pass 1: kinds and lengths (specials' content lengths) */
    uint8_t *kind = gb_calloc((size_t)n, 1);
    const char **special_str = gb_calloc((size_t)n, sizeof *special_str);
    if (!kind || !special_str) { rc = GB_ERR_NOMEM; goto done; }
    uint64_t total = 0;
    size_t longest = 0;
    int64_t id = 0;
    for (const cJSON *it = tokens->child; it; it = it->next, id++) {
        if (cJSON_IsNull(it)) continue;
        if (!cJSON_IsString(it)) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: tokens[%lld] must be a string or null", path, (long long)id);
            goto done;
        }
        size_t len = strlen(it->valuestring);
        if (len == 0) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: tokens[%lld] is empty", path, (long long)id);
            goto done;
        }
        kind[id] = TOK_BYTES;
        total += len;
        if (len > longest) longest = len;
    }
    if (specials) {
        int k = 0;
        for (const cJSON *it = specials->child; it; it = it->next, k++) {
            const cJSON *sid = cJSON_GetObjectItemCaseSensitive(it, "id");
            const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
            int64_t i = json_index(sid, n - 1);
            if (!cJSON_IsObject(it) || i < 0 || !cJSON_IsString(content) || !content->valuestring[0]) {
                rc = gb_errorf(GB_ERR_FORMAT,
                               "%s: specials[%d] must be {\"id\": id below vocab_size, \"content\": non-empty string}",
                               path, k);
                goto done;
            }
            if (kind[i] != TOK_HOLE) {
                rc = gb_errorf(GB_ERR_FORMAT, "%s: specials[%d] takes id %lld, which is already a token", path, k,
                               (long long)i);
                goto done;
            }
            kind[i] = TOK_SPECIAL;
            special_str[i] = content->valuestring;
            total += strlen(content->valuestring);
        }
    }
    if (total > GB_TOK_MAX_BYTES) { rc = gb_errorf(GB_ERR_FORMAT, "%s: tokens too large", path); goto done; }
    if ((rc = gb_tok_alloc(&t, (uint32_t)n, (size_t)total)) != GB_OK) goto done;
    t->pattern = pattern;
    t->rule = mr;
    /* pass 2: bytes */
    uint64_t o = 0;
    id = 0;
    for (const cJSON *it = tokens->child; it; it = it->next, id++) {
        t->off[id] = o;
        t->kind[id] = kind[id];
        if (kind[id] == TOK_BYTES) {
            int64_t m = gb_gpt2_unmap(it->valuestring, strlen(it->valuestring), t->bytes + o);
            if (m < 0) {
                rc = gb_errorf(GB_ERR_FORMAT, "%s: tokens[%lld] is not a GPT-2 byte string (a character outside bytes_to_unicode)",
                               path, (long long)id);
                goto done;
            }
            o += (uint64_t)m;
        } else if (kind[id] == TOK_SPECIAL) {
            size_t len = strlen(special_str[id]);
            memcpy(t->bytes + o, special_str[id], len);
            o += len;
        }
    }
    t->off[n] = o;
    if (mr == GB_MERGE_LIST) {
        int nm = cJSON_GetArraySize(merges);
        t->merges = gb_alloc(((size_t)nm + 1) * sizeof *t->merges);
        if (!t->merges) { rc = GB_ERR_NOMEM; goto done; }
        int r = 0;
        for (const cJSON *it = merges->child; it; it = it->next, r++) {
            int64_t a = -1, b = -1, c = -1;
            if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 3) {
                a = json_index(it->child, n - 1);
                b = json_index(it->child->next, n - 1);
                c = json_index(it->child->next->next, n - 1);
            }
            if (a < 0 || b < 0 || c < 0) {
                rc = gb_errorf(GB_ERR_FORMAT, "%s: merges[%d] must be [left, right, result], ids below vocab_size", path, r);
                goto done;
            }
            t->merges[r] = (gb_tok_merge){(uint32_t)a, (uint32_t)b, (uint32_t)c};
        }
        t->n_merges = nm;
    }
    if ((rc = gb_tok_finish(t, path)) != GB_OK) goto done;
    *out = t;
    t = NULL;
done:
    gb_tokenizer_free(t);
    gb_free(kind);
    gb_free(special_str);
    return rc;
}

/* ---- GPT-2 encoder.json + merges.txt ---- */

/* Finds merges.txt (or vocab.bpe, either maybe gzipped) beside `path` and reads it. */
static gb_status read_merges_file(const char *path, char **data, size_t *len, char **mpath) {
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path + 1) : 0;
    static const char *const names[] = {"merges.txt", "vocab.bpe", "merges.txt.gz", "vocab.bpe.gz"};
    for (int i = 0; i < 4; i++) {
        size_t name_len = strlen(names[i]);
        char *p = malloc(dir + name_len + 1);
        if (!p) return gb_errorf(GB_ERR_NOMEM, "out of memory");
        memcpy(p, path, dir);
        memcpy(p + dir, names[i], name_len + 1);
        FILE *fp = fopen(p, "rb");
        if (fp) {
            fclose(fp);
            *mpath = p;
            return gb_read_file(p, MAX_FILE_BYTES, data, len);
        }
        free(p);
    }
    return gb_errorf(GB_ERR_FORMAT, "%s: a GPT-2 vocabulary needs merges.txt or vocab.bpe beside it; found neither",
                     path);
}

static gb_status load_encoder_json(gb_tokenizer **out, const char *path, const cJSON *root) {
    gb_status rc = GB_OK;
    gb_tokenizer *t = NULL;
    char *mdata = NULL, *mpath = NULL;
    size_t mlen = 0;
    const cJSON **by_id = NULL;
    uint64_t *uoff = NULL;
    uint8_t *ubytes = NULL, *is_result = NULL, *buf = NULL;
    gb_tok_merge *merges = NULL;
    bmap map = {0};
    int64_t n = cJSON_GetArraySize(root);
    if (n == 0) return gb_errorf(GB_ERR_FORMAT, "%s: empty JSON object, not a vocabulary", path);
    if (n > GB_TOK_MAX_IDS) return gb_errorf(GB_ERR_FORMAT, "%s: more than %u tokens", path, GB_TOK_MAX_IDS);
    by_id = gb_calloc((size_t)n, sizeof *by_id);
    uoff = gb_calloc((size_t)n + 1, sizeof *uoff);
    is_result = gb_calloc((size_t)n, 1);
    if (!by_id || !uoff || !is_result) { rc = GB_ERR_NOMEM; goto done; }
    /* ids: each 0..n-1 exactly once, so no gaps */
    uint64_t total = 0;
    for (const cJSON *it = root->child; it; it = it->next) {
        int64_t id = json_index(it, GB_TOK_MAX_IDS);
        if (id < 0) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: the value of \"%.40s\" is not a token id (a whole number)", path,
                           it->string);
            goto done;
        }
        if (id >= n) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: id %lld of \"%.40s\" leaves a gap (%lld tokens, ids must be 0..%lld)",
                           path, (long long)id, it->string, (long long)n, (long long)n - 1);
            goto done;
        }
        if (by_id[id]) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: id %lld is given to both \"%.40s\" and \"%.40s\"", path, (long long)id,
                           by_id[id]->string, it->string);
            goto done;
        }
        if (!it->string[0]) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: token %lld is the empty string", path, (long long)id);
            goto done;
        }
        by_id[id] = it;
        total += strlen(it->string);
    }
    /* unmapped bytes of every id (empty where the string is not a byte string) */
    ubytes = gb_alloc((size_t)total + 1);
    if (!ubytes) { rc = GB_ERR_NOMEM; goto done; }
    uint64_t o = 0;
    for (int64_t id = 0; id < n; id++) {
        uoff[id] = o;
        int64_t m = gb_gpt2_unmap(by_id[id]->string, strlen(by_id[id]->string), ubytes + o);
        if (m > 0) o += (uint64_t)m;
    }
    uoff[n] = o;
    if ((rc = bmap_init(&map, (uint64_t)n, ubytes, uoff)) != GB_OK) goto done;
    for (int64_t id = 0; id < n; id++) {
        if (uoff[id + 1] == uoff[id]) continue;
        uint64_t at;
        int64_t dup = bmap_find(&map, ubytes + uoff[id], uoff[id + 1] - uoff[id], &at);
        if (dup >= 0) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: \"%.40s\" appears twice (ids %lld and %lld)", path, by_id[id]->string,
                           (long long)dup, (long long)id);
            goto done;
        }
        map.slot[at] = (uint32_t)id + 1;
    }

    /* merges: "A B" per line, rank = order; a "#version" first line is a comment */
    if ((rc = read_merges_file(path, &mdata, &mlen, &mpath)) != GB_OK) goto done;
    size_t cap_merges = 1024;
    int64_t nm = 0;
    merges = gb_alloc(cap_merges * sizeof *merges);
    buf = gb_alloc(mlen + 1);
    if (!merges || !buf) { rc = GB_ERR_NOMEM; goto done; }
    size_t pos = 0;
    int64_t line = 0;
    while (pos < mlen) {
        char *s = mdata + pos, *eol = memchr(s, '\n', mlen - pos);
        size_t len = eol ? (size_t)(eol - s) : mlen - pos;
        pos += len + (eol != NULL);
        line++;
        if (len && s[len - 1] == '\r') len--;
        if (len == 0 || (line == 1 && len >= 8 && !memcmp(s, "#version", 8))) continue;
        char *sp = memchr(s, ' ', len);
        if (!sp || sp == s || sp == s + len - 1 || memchr(sp + 1, ' ', (size_t)(s + len - sp - 1))) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: line %lld is not a merge \"A B\"", mpath, (long long)line);
            goto done;
        }
        size_t la = (size_t)(sp - s), lb = len - la - 1;
        int64_t ma = gb_gpt2_unmap(s, la, buf), mb = ma < 0 ? -1 : gb_gpt2_unmap(sp + 1, lb, buf + ma);
        int64_t a = ma > 0 ? bmap_find(&map, buf, (size_t)ma, NULL) : -1;
        int64_t b = mb > 0 ? bmap_find(&map, buf + ma, (size_t)mb, NULL) : -1;
        if (a < 0 || b < 0) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: line %lld: \"%.*s\" is not in %s", mpath, (long long)line,
                           (int)(a < 0 ? la : lb), a < 0 ? s : sp + 1, path);
            goto done;
        }
        int64_t c = bmap_find(&map, buf, (size_t)(ma + mb), NULL);
        if (c < 0) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: line %lld: the merge of \"%.*s\" makes a token that is not in %s",
                           mpath, (long long)line, (int)len, s, path);
            goto done;
        }
        if ((size_t)nm == cap_merges) {
            cap_merges *= 2;
            if ((rc = gb_realloc_array((void **)&merges, cap_merges, sizeof *merges)) != GB_OK) goto done;
        }
        merges[nm++] = (gb_tok_merge){(uint32_t)a, (uint32_t)b, (uint32_t)c};
        is_result[c] = 1;
    }

    /* kinds: bytes and merge results are byte-level tokens; the rest ("<|endoftext|>",
     * added tokens) are specials whose content is the string as written */
    uint64_t tbytes = 0;
    for (int64_t id = 0; id < n; id++) {
        uint64_t ul = uoff[id + 1] - uoff[id];
        if (ul == 1 || (ul > 1 && is_result[id])) tbytes += ul;
        else tbytes += strlen(by_id[id]->string);
    }
    if ((rc = gb_tok_alloc(&t, (uint32_t)n, (size_t)tbytes)) != GB_OK) goto done;
    t->pattern = GB_PRETOK_GPT2;
    t->rule = GB_MERGE_LIST;
    o = 0;
    for (int64_t id = 0; id < n; id++) {
        uint64_t ul = uoff[id + 1] - uoff[id];
        t->off[id] = o;
        if (ul == 1 || (ul > 1 && is_result[id])) {
            t->kind[id] = TOK_BYTES;
            memcpy(t->bytes + o, ubytes + uoff[id], ul);
            o += ul;
        } else {
            size_t len = strlen(by_id[id]->string);
            t->kind[id] = TOK_SPECIAL;
            memcpy(t->bytes + o, by_id[id]->string, len);
            o += len;
        }
    }
    t->off[n] = o;
    t->merges = merges;
    t->n_merges = nm;
    merges = NULL;
    if ((rc = gb_tok_finish(t, path)) != GB_OK) goto done;
    *out = t;
    t = NULL;
done:
    gb_tokenizer_free(t);
    gb_free(by_id);
    gb_free(uoff);
    gb_free(ubytes);
    gb_free(is_result);
    gb_free(buf);
    gb_free(merges);
    gb_free(map.slot);
    gb_free(mdata);
    free(mpath);
    return rc;
}

/* ---- tiktoken rank files ---- */

static int b64_value(uint8_t c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict standard base64 (padded) of s[0..n) into out; returns the byte count or -1. */
static int64_t b64_decode(const uint8_t *s, size_t n, uint8_t *out) {
    if (n == 0 || n % 4) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad) return -1; /* '=' then a letter */
                v[k] = b64_value(s[i + k]);
                if (v[k] < 0) return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[m++] = (uint8_t)(w >> 16);
        if (pad < 2) out[m++] = (uint8_t)(w >> 8);
        if (pad < 1) out[m++] = (uint8_t)w;
    }
    return (int64_t)m;
}

static gb_status load_tiktoken(gb_tokenizer **out, const char *path, const char *data, size_t len) {
    gb_status rc = GB_OK;
    gb_tokenizer *t = NULL;
    uint64_t *toff = NULL;    /* (n_lines+1) decoded bytes of line i in tbytes */
    uint8_t *tbytes = NULL;
    int64_t *line_of = NULL;  /* (max_id+1) which line has rank i, or -1 */
    uint32_t *rank = NULL;    /* (n_lines) */
    const uint8_t *d = (const uint8_t *)data;
    int64_t n_lines = 0;
    for (size_t i = 0; i < len; i++) n_lines += d[i] == '\n';
    if (len && d[len - 1] != '\n') n_lines++;
    if (n_lines > GB_TOK_MAX_IDS) return gb_errorf(GB_ERR_FORMAT, "%s: more than %u tokens", path, GB_TOK_MAX_IDS);
    toff = gb_calloc((size_t)n_lines + 1, sizeof *toff);
    rank = gb_calloc((size_t)n_lines + 1, sizeof *rank);
    tbytes = gb_alloc(len + 1);
    if (!toff || !rank || !tbytes) { rc = GB_ERR_NOMEM; goto done; }
    /* a rank may not run far past the line count: that bounds the id space by the file */
    const uint64_t max_rank = (uint64_t)n_lines + 1024;
    uint64_t o = 0, top = 0;
    size_t pos = 0;
    int64_t n = 0, line = 0;
    while (pos < len) {
        const uint8_t *s = d + pos, *eol = memchr(s, '\n', len - pos);
        size_t l = eol ? (size_t)(eol - s) : len - pos;
        pos += l + (eol != NULL);
        line++;
        if (l && s[l - 1] == '\r') l--;
        if (l == 0) continue;
        const uint8_t *sp = memchr(s, ' ', l);
        if (!sp) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: line %lld is not \"base64 rank\"", path, (long long)line);
            goto done;
        }
        int64_t m = b64_decode(s, (size_t)(sp - s), tbytes + o);
        if (m <= 0) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: line %lld: invalid base64", path, (long long)line);
            goto done;
        }
        const uint8_t *q = sp + 1, *end = s + l;
        uint64_t r = 0;
        if (q == end) r = UINT64_MAX;
        for (; q < end && r <= max_rank; q++) {
            if (*q < '0' || *q > '9') { r = UINT64_MAX; break; }
            r = r * 10 + (uint64_t)(*q - '0');
        }
        if (r == UINT64_MAX) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: line %lld: the rank is not a whole number", path, (long long)line);
            goto done;
        }
        if (r > max_rank || r >= GB_TOK_MAX_IDS - 64) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: line %lld: rank %s%llu is far beyond the %lld tokens in the file", path,
                           (long long)line, q < end ? "over " : "", (unsigned long long)r, (long long)n_lines);
            goto done;
        }
        toff[n] = o;
        rank[n] = (uint32_t)r;
        if (r + 1 > top) top = r + 1;
        o += (uint64_t)m;
        n++;
    }
    toff[n] = o;
    if (n == 0) { rc = gb_errorf(GB_ERR_FORMAT, "%s: no tokens", path); goto done; }
    line_of = gb_alloc((size_t)top * sizeof *line_of);
    if (!line_of) { rc = GB_ERR_NOMEM; goto done; }
    memset(line_of, 0xff, (size_t)top * sizeof *line_of);
    for (int64_t i = 0; i < n; i++) {
        if (line_of[rank[i]] >= 0) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: rank %u appears twice (tokens %lld and %lld of the file)", path,
                           rank[i], (long long)line_of[rank[i]] + 1, (long long)i + 1);
            goto done;
        }
        line_of[rank[i]] = i;
    }
    /* specials: tiktoken keeps them outside the file. cl100k_base (ranks 0..100255) has
     * its five at fixed ids; any other file gets <|endoftext|> in its one gap or after
     * its last rank (r50k_base: 50256, p50k_base: 50256). */
    static const struct { uint32_t id; const char *s; } cl100k_sp[] = {
        {100257, "<|endoftext|>"}, {100258, "<|fim_prefix|>"}, {100259, "<|fim_middle|>"},
        {100260, "<|fim_suffix|>"}, {100276, "<|endofprompt|>"}};
    int cl100k = n == 100256 && top == 100256;
    uint64_t n_ids = cl100k ? 100277 : top + 1;
    uint32_t eot = (uint32_t)top;
    if (!cl100k) {
        int64_t gaps = 0;
        for (uint64_t i = 0; i < top; i++)
            if (line_of[i] < 0) {
                if (gaps++) {
                    rc = gb_errorf(GB_ERR_FORMAT, "%s: ranks %u and %llu are missing (at most one gap, for <|endoftext|>)",
                                   path, eot, (unsigned long long)i);
                    goto done;
                }
                eot = (uint32_t)i;
            }
        if (gaps) n_ids = top;
    }
    uint64_t total = o + (cl100k ? 80 : 13);
    if ((rc = gb_tok_alloc(&t, (uint32_t)n_ids, (size_t)total)) != GB_OK) goto done;
    t->pattern = n >= 100000 ? GB_PRETOK_CL100K : GB_PRETOK_GPT2;
    t->rule = GB_MERGE_RANKS;
    uint64_t w = 0;
    for (uint64_t id = 0; id < n_ids; id++) {
        t->off[id] = w;
        const char *sp = NULL;
        if (cl100k) {
            for (size_t k = 0; k < sizeof cl100k_sp / sizeof *cl100k_sp; k++)
                if (cl100k_sp[k].id == id) sp = cl100k_sp[k].s;
        } else if (id == eot) {
            sp = "<|endoftext|>";
        }
        if (sp) {
            t->kind[id] = TOK_SPECIAL;
            memcpy(t->bytes + w, sp, strlen(sp));
            w += strlen(sp);
        } else if (id < top && line_of[id] >= 0) {
            int64_t i = line_of[id];
            t->kind[id] = TOK_BYTES;
            memcpy(t->bytes + w, tbytes + toff[i], toff[i + 1] - toff[i]);
            w += toff[i + 1] - toff[i];
        }
    }
    t->off[n_ids] = w;
    if ((rc = gb_tok_finish(t, path)) != GB_OK) goto done;
    *out = t;
    t = NULL;
done:
    gb_tokenizer_free(t);
    gb_free(toff);
    gb_free(rank);
    gb_free(tbytes);
    gb_free(line_of);
    return rc;
}

/* ---- detection ---- */

/* A GGUF file (a model can be many gigabytes: it is mapped, not read). 1 yes, 0 no. */
static int is_gguf(const char *path) {
    char magic[4];
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    int yes = fread(magic, 1, 4, fp) == 4 && memcmp(magic, GB_GGUF_MAGIC, 4) == 0;
    fclose(fp);
    return yes;
}

gb_status gb_tokenizer_load(gb_tokenizer **out, const char *path) {
    *out = NULL;
    if (is_gguf(path)) {
        gb_gguf *g = NULL;
        gb_status rc = gb_gguf_open(&g, path);
        if (rc == GB_OK) rc = gb_tokenizer_load_gguf(out, g);
        gb_gguf_close(g);
        return rc;
    }
    char *data = NULL;
    size_t len = 0;
    gb_status rc = gb_read_file(path, MAX_FILE_BYTES, &data, &len);
    if (rc != GB_OK) return rc;
    cJSON *root = NULL;
    size_t i = 0;
    if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3)) i = 3; /* a UTF-8 byte order mark */
    while (i < len && isspace((unsigned char)data[i])) i++;
    if (i == len) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: empty file, not a tokenizer", path);
    } else if (data[i] == '{' || data[i] == '[') {
        const char *end = NULL;
        root = cJSON_ParseWithLengthOpts(data + i, len - i, &end, 0);
        if (!root) {
            size_t at = end ? (size_t)(end - data) : len;
            rc = gb_errorf(GB_ERR_FORMAT, "%s: invalid JSON at byte %zu%s", path, at,
                           at >= len ? " (truncated?)" : "");
        } else if (!cJSON_IsObject(root)) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: JSON but not an object, so not a tokenizer file", path);
        } else {
            /* "format" and "model" are also GPT-2 tokens: only their types tell */
            const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
            if (cJSON_IsString(fmt)) {
                if (strcmp(fmt->valuestring, FORMAT_TAG) != 0)
                    rc = gb_errorf(GB_ERR_FORMAT, "%s: \"format\" is not \"%s\"", path, FORMAT_TAG);
                else
                    rc = load_glassbox(out, path, root);
            } else if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "model"))) {
                rc = gb_errorf(GB_ERR_FORMAT,
                               "%s: a Hugging Face tokenizer.json; give its vocab.json (with merges.txt beside it)",
                               path);
            } else {
                rc = load_encoder_json(out, path, root);
            }
        }
    } else {
        rc = load_tiktoken(out, path, data + i, len - i);
    }
    cJSON_Delete(root);
    gb_free(data);
    return rc;
}

/* ---- saving ---- */

static void put_json_string(FILE *fp, const uint8_t *s, size_t n) {
    fputc('"', fp);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') fputc('\\', fp), fputc(c, fp);
        else if (c < 0x20 || c == 0x7f) fprintf(fp, "\\u%04x", c);
        else fputc(c, fp);
    }
    fputc('"', fp);
}

/* A token's bytes as GPT-2's mapped string, UTF-8, JSON-escaped. */
static void put_mapped(FILE *fp, const uint8_t *b, size_t n) {
    fputc('"', fp);
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = gb_gpt2_byte_to_cp(b[i]);
        if (cp == '"' || cp == '\\') fputc('\\', fp), fputc((int)cp, fp);
        else if (cp < 0x80) fputc((int)cp, fp);
        else fputc((int)(0xc0 | cp >> 6), fp), fputc((int)(0x80 | (cp & 0x3f)), fp);
    }
    fputc('"', fp);
}

gb_status gb_tokenizer_save(const gb_tokenizer *t, const char *path) {
    /* what the JSON format cannot say (GGUF sources) is refused rather than lost */
    if (t->algo != GB_TOKENIZER_BPE || t->whole_pieces || t->n_user ||
        (t->pattern != GB_PRETOK_GPT2 && t->pattern != GB_PRETOK_CL100K))
        return gb_errorf(GB_ERR_ARG, "%s: this tokenizer (%s) cannot be written as glassbox tokenizer JSON", path,
                         t->algo != GB_TOKENIZER_BPE ? "SentencePiece"
                         : t->pattern == GB_PRETOK_LLAMA3 ? "Llama 3 pre-tokenizer"
                                                          : "user-defined tokens");
    gb_atomic_file f;
    gb_status rc = gb_atomic_open(&f, path);
    if (rc != GB_OK) return rc;
    FILE *fp = f.fp;
    fprintf(fp, "{\n  \"format\": \"%s\",\n  \"version\": %d,\n", FORMAT_TAG, FORMAT_VERSION);
    fprintf(fp, "  \"pattern\": \"%s\",\n", t->pattern == GB_PRETOK_CL100K ? "cl100k" : "gpt2");
    fprintf(fp, "  \"merge_rule\": \"%s\",\n", t->rule == GB_MERGE_RANKS ? "ranks" : "merges");
    fprintf(fp, "  \"vocab_size\": %u,\n  \"specials\": [", t->n_ids);
    int first = 1;
    for (uint32_t i = 0; i < t->n_ids; i++) {
        if (t->kind[i] != TOK_SPECIAL) continue;
        fprintf(fp, "%s\n    {\"id\": %u, \"content\": ", first ? "" : ",", i);
        put_json_string(fp, t->bytes + t->off[i], t->off[i + 1] - t->off[i]);
        fputc('}', fp);
        first = 0;
    }
    fprintf(fp, "%s],\n  \"tokens\": [\n", first ? "" : "\n  ");
    for (uint32_t i = 0; i < t->n_ids; i++) {
        fputs("    ", fp);
        if (t->kind[i] == TOK_BYTES) put_mapped(fp, t->bytes + t->off[i], t->off[i + 1] - t->off[i]);
        else fputs("null", fp);
        fputs(i + 1 < t->n_ids ? ",\n" : "\n", fp);
    }
    fputs("  ],\n  \"merges\": [", fp);
    for (int64_t r = 0; r < t->n_merges; r++)
        fprintf(fp, "%s\n    [%u, %u, %u]", r ? "," : "", t->merges[r].left, t->merges[r].right, t->merges[r].result);
    fprintf(fp, "%s]\n}\n", t->n_merges ? "\n  " : "");
    if (ferror(fp)) {
        rc = gb_errorf(GB_ERR_IO, "%s: %s", path, strerror(errno));
        gb_atomic_abort(&f);
        return rc;
    }
    return gb_atomic_commit(&f);
}
