/* glassbox info — what a GGUF file holds: architecture, parameter count, tensor types (count
 * and bytes per type), the RoPE scaling when the file has any, every metadata key (strings cut at 200 bytes, arrays summarised as
 * type, length and first elements) and the file's SHA-256. Optimizer moments of a training
 * checkpoint (glassbox.adamw_*) are counted apart from the parameters. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "glassbox/gguf.h"
#include "glassbox/sha256.h"

static const char *info_help =
    "usage: glassbox info FILE [--json]\n"
    "\n"
    "Describes a GGUF file: architecture, parameter count, tensor types, RoPE scaling (when\n"
    "present), metadata (arrays summarised), SHA-256 of the file.\n"
    "\n"
    "  --json          one JSON object on stdout instead of text\n"
    "  --threads N     accepted for symmetry (info does not compute)\n"
    "  -h, --help      show this help\n";

#define MAX_STR 200
#define ARR_HEAD 4

/* Appends a printable form of string s (cut at max bytes, control bytes escaped) to buf. */
static void put_str(char *buf, size_t size, gb_gguf_str s, size_t max) {
    size_t o = strlen(buf);
    for (uint64_t i = 0; i < s.len && i < max && o + 8 < size; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch == '\n') o += (size_t)snprintf(buf + o, size - o, "\\n");
        else if (ch < 32 || ch == 127) o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
        else buf[o++] = (char)ch, buf[o] = 0;
    }
    if (s.len > max && o + 4 < size) snprintf(buf + o, size - o, "...");
}

static void put_elem(char *buf, size_t size, const gb_gguf_arr *a, uint64_t i) {
    size_t o = strlen(buf);
    switch (a->type) {
    case GB_GGUF_UINT8: snprintf(buf + o, size - o, "%u", gb_gguf_arr_u8(a, i)); break;
    case GB_GGUF_INT8: snprintf(buf + o, size - o, "%d", gb_gguf_arr_i8(a, i)); break;
    case GB_GGUF_UINT16: snprintf(buf + o, size - o, "%u", gb_gguf_arr_u16(a, i)); break;
    case GB_GGUF_INT16: snprintf(buf + o, size - o, "%d", gb_gguf_arr_i16(a, i)); break;
    case GB_GGUF_UINT32: snprintf(buf + o, size - o, "%lu", (unsigned long)gb_gguf_arr_u32(a, i)); break;
    case GB_GGUF_INT32: snprintf(buf + o, size - o, "%ld", (long)gb_gguf_arr_i32(a, i)); break;
    case GB_GGUF_UINT64: snprintf(buf + o, size - o, "%llu", (unsigned long long)gb_gguf_arr_u64(a, i)); break;
    case GB_GGUF_INT64: snprintf(buf + o, size - o, "%lld", (long long)gb_gguf_arr_i64(a, i)); break;
    case GB_GGUF_FLOAT32: snprintf(buf + o, size - o, "%g", (double)gb_gguf_arr_f32(a, i)); break;
    case GB_GGUF_FLOAT64: snprintf(buf + o, size - o, "%g", gb_gguf_arr_f64(a, i)); break;
    case GB_GGUF_BOOL: snprintf(buf + o, size - o, "%s", gb_gguf_arr_bool(a, i) ? "true" : "false"); break;
    case GB_GGUF_STRING:
        snprintf(buf + o, size - o, "\"");
        put_str(buf, size, gb_gguf_arr_str(a, i), 40);
        o = strlen(buf);
        snprintf(buf + o, size - o, "\"");
        break;
    default: snprintf(buf + o, size - o, "[...]"); break;
    }
}

/* The value of key i as one line of text (also used for JSON strings of arrays). */
static void value_text(const gb_gguf *g, int64_t i, char *buf, size_t size) {
    const char *key = gb_gguf_key(g, i);
    buf[0] = 0;
    gb_gguf_str s;
    gb_gguf_arr a;
    switch (gb_gguf_kv_type(g, i)) {
    case GB_GGUF_STRING:
        if (!gb_gguf_get_str(g, key, &s)) put_str(buf, size, s, MAX_STR);
        break;
    case GB_GGUF_ARRAY:
        if (gb_gguf_get_arr(g, key, GB_GGUF_TYPE_COUNT, &a)) break;
        snprintf(buf, size, "[%s × %llu]", gb_gguf_type_name(a.type), (unsigned long long)a.n);
        for (uint64_t k = 0; k < a.n && k < ARR_HEAD; k++) {
            size_t o = strlen(buf);
            snprintf(buf + o, size - o, "%s", k ? ", " : " ");
            put_elem(buf, size, &a, k);
        }
        if (a.n > ARR_HEAD) {
            size_t o = strlen(buf);
            snprintf(buf + o, size - o, ", ...");
        }
        break;
    case GB_GGUF_BOOL: {
        bool b = false;
        gb_gguf_get_bool(g, key, &b);
        snprintf(buf, size, "%s", b ? "true" : "false");
        break;
    }
    case GB_GGUF_FLOAT32:
    case GB_GGUF_FLOAT64: {
        double d = 0;
        gb_gguf_get_float(g, key, &d);
        snprintf(buf, size, "%g", d);
        break;
    }
    default: {
        int64_t v = 0;
        uint64_t u = 0;
        if (gb_gguf_kv_type(g, i) == GB_GGUF_UINT64 && !gb_gguf_get_u64(g, key, &u)) snprintf(buf, size, "%llu", (unsigned long long)u);
        else if (!gb_gguf_get_int(g, key, &v)) snprintf(buf, size, "%lld", (long long)v);
        break;
    }
    }
}

/* RoPE scaling as llama.cpp reads it: `<arch>.rope.scaling.type` (absent: linear), the factor
 * (`rope.scaling.factor`, else `rope.scale_linear`), `rope.scaling.original_context_length`
 * and the per-dimension `rope_freqs.weight`. */
typedef struct {
    int present;           /* any of the keys or the tensor */
    char type[40];
    int has_factor;
    double factor;
    int64_t orig_ctx;      /* 0: absent */
    int64_t n_freqs;       /* elements of rope_freqs.weight, 0: absent */
    double freqs_min, freqs_max; /* when F32 */
    const char *freqs_type;
} rope_info;

static void read_rope_info(const gb_gguf *g, gb_gguf_str arch, rope_info *r) {
    memset(r, 0, sizeof *r);
    char key[160];
    gb_gguf_str s;
    snprintf(r->type, sizeof r->type, "linear (default)");
    snprintf(key, sizeof key, "%.*s.rope.scaling.type", (int)(arch.len < 64 ? arch.len : 64), arch.ptr);
    if (gb_gguf_find_key(g, key) >= 0) {
        r->present = 1;
        r->type[0] = 0;
        if (gb_gguf_get_str(g, key, &s)) snprintf(r->type, sizeof r->type, "(not a string)");
        else put_str(r->type, sizeof r->type, s, 24);
    }
    static const char *const factor_keys[] = {"rope.scaling.factor", "rope.scale_linear"};
    for (int k = 0; k < 2 && !r->has_factor; k++) {
        snprintf(key, sizeof key, "%.*s.%s", (int)(arch.len < 64 ? arch.len : 64), arch.ptr, factor_keys[k]);
        if (gb_gguf_find_key(g, key) >= 0 && !gb_gguf_get_float(g, key, &r->factor)) r->has_factor = r->present = 1;
    }
    snprintf(key, sizeof key, "%.*s.rope.scaling.original_context_length", (int)(arch.len < 64 ? arch.len : 64),
             arch.ptr);
    if (gb_gguf_find_key(g, key) >= 0 && !gb_gguf_get_int(g, key, &r->orig_ctx)) r->present = 1;
    const gb_gguf_tensor *t = gb_gguf_find_tensor(g, "rope_freqs.weight");
    if (t) {
        r->present = 1;
        r->n_freqs = t->n_elements;
        r->freqs_type = gb_ggml_type_name(t->type);
        if (t->type == GB_GGML_F32) {
            const float *f = t->data;
            r->freqs_min = r->freqs_max = f[0];
            for (int64_t i = 1; i < t->n_elements; i++) {
                if (f[i] < r->freqs_min) r->freqs_min = f[i];
                if (f[i] > r->freqs_max) r->freqs_max = f[i];
            }
        }
    }
}

/* One line: "linear, factor 2 (positions / 2); rope_freqs.weight: 64 factors 1 .. 8" */
static void rope_text(const rope_info *r, char *buf, size_t size) {
    int linear = !strncmp(r->type, "linear", 6), none = !strcmp(r->type, "none");
    size_t o = (size_t)snprintf(buf, size, "%s", r->type);
    if (r->has_factor && o < size) {
        o += (size_t)snprintf(buf + o, size - o, ", factor %g", r->factor);
        if (linear && r->factor > 0 && r->factor != 1 && o < size)
            o += (size_t)snprintf(buf + o, size - o, " (positions / %g)", r->factor);
        if (none && o < size) o += (size_t)snprintf(buf + o, size - o, " (ignored)");
    }
    if (!linear && !none && o < size) o += (size_t)snprintf(buf + o, size - o, " (glassbox cannot run this type)");
    if (r->orig_ctx && o < size) o += (size_t)snprintf(buf + o, size - o, ", original context %lld", (long long)r->orig_ctx);
    if (r->n_freqs && o < size) {
        if (r->freqs_type && !strcmp(r->freqs_type, "F32"))
            snprintf(buf + o, size - o, "; rope_freqs.weight: %lld factors %g .. %g", (long long)r->n_freqs,
                     r->freqs_min, r->freqs_max);
        else
            snprintf(buf + o, size - o, "; rope_freqs.weight: %lld values of type %s", (long long)r->n_freqs,
                     r->freqs_type ? r->freqs_type : "?");
    }
}

int gb_cmd_info(int argc, char **argv) {
    const char *cmd = "info";
    int json = 0;
    enum { O_JSON = 256, O_THREADS };
    static const struct option opts[] = {{"json", no_argument, 0, O_JSON},
                                         {"threads", required_argument, 0, O_THREADS},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = gb_cli_getopt(cmd, argc, argv, "h", opts)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case O_THREADS:
            if (gb_cli_set_threads(cmd, optarg)) return GB_EXIT_USAGE;
            break;
        case 'h': fputs(info_help, stdout); return GB_EXIT_OK;
        default: return GB_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) return gb_cli_usage_error(cmd, "one FILE is required");
    const char *path = argv[optind];
    gb_gguf *g = NULL;
    gb_status rc = gb_gguf_open(&g, path);
    if (rc) return gb_cli_fail(rc);
    uint8_t digest[32];
    char hex[65];
    if ((rc = gb_sha256_file(path, digest))) {
        gb_gguf_close(g);
        return gb_cli_fail(rc);
    }
    gb_sha256_hex(digest, hex);

    int64_t n_params = 0, n_opt = 0, count[GB_GGML_TYPE_COUNT] = {0};
    uint64_t bytes[GB_GGML_TYPE_COUNT] = {0};
    for (int64_t i = 0; i < gb_gguf_n_tensors(g); i++) {
        const gb_gguf_tensor *t = gb_gguf_tensor_at(g, i);
        if (!strncmp(t->name, "glassbox.adamw_", 15)) {
            n_opt += t->n_elements;
            continue;
        }
        n_params += t->n_elements;
        if ((unsigned)t->type < GB_GGML_TYPE_COUNT) count[t->type]++, bytes[t->type] += t->nbytes;
    }
    gb_gguf_str arch = {"?", 1};
    gb_gguf_get_str(g, "general.architecture", &arch);
    char val[2048];
    rope_info rope;
    read_rope_info(g, arch, &rope);

    if (json) {
        cJSON *o = cJSON_CreateObject(), *types = cJSON_CreateObject(), *meta = cJSON_CreateObject();
        snprintf(val, sizeof val, "%.*s", (int)(arch.len < 64 ? arch.len : 64), arch.ptr);
        cJSON_AddStringToObject(o, "file", path);
        cJSON_AddStringToObject(o, "architecture", val);
        cJSON_AddNumberToObject(o, "parameters", (double)n_params);
        if (n_opt) cJSON_AddNumberToObject(o, "optimizer_values", (double)n_opt);
        cJSON_AddNumberToObject(o, "tensors", (double)gb_gguf_n_tensors(g));
        cJSON_AddNumberToObject(o, "file_bytes", (double)gb_gguf_file_size(g));
        cJSON_AddStringToObject(o, "sha256", hex);
        for (int t = 0; t < GB_GGML_TYPE_COUNT; t++) {
            if (!count[t]) continue;
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "tensors", (double)count[t]);
            cJSON_AddNumberToObject(e, "bytes", (double)bytes[t]);
            cJSON_AddItemToObject(types, gb_ggml_type_name((uint32_t)t), e);
        }
        cJSON_AddItemToObject(o, "tensor_types", types);
        if (rope.present) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "type", !strcmp(rope.type, "linear (default)") ? "linear" : rope.type);
            if (rope.has_factor) cJSON_AddNumberToObject(r, "factor", rope.factor);
            if (rope.orig_ctx) cJSON_AddNumberToObject(r, "original_context_length", (double)rope.orig_ctx);
            if (rope.n_freqs) cJSON_AddNumberToObject(r, "rope_freqs", (double)rope.n_freqs);
            rope_text(&rope, val, sizeof val);
            cJSON_AddStringToObject(r, "text", val);
            cJSON_AddItemToObject(o, "rope_scaling", r);
        }
        for (int64_t i = 0; i < gb_gguf_n_kv(g); i++) {
            value_text(g, i, val, sizeof val);
            gb_gguf_type ty = gb_gguf_kv_type(g, i);
            double d;
            int64_t v;
            if ((ty == GB_GGUF_FLOAT32 || ty == GB_GGUF_FLOAT64) && !gb_gguf_get_float(g, gb_gguf_key(g, i), &d))
                cJSON_AddNumberToObject(meta, gb_gguf_key(g, i), d);
            else if (ty != GB_GGUF_STRING && ty != GB_GGUF_ARRAY && ty != GB_GGUF_BOOL && ty != GB_GGUF_UINT64 &&
                     !gb_gguf_get_int(g, gb_gguf_key(g, i), &v))
                cJSON_AddNumberToObject(meta, gb_gguf_key(g, i), (double)v);
            else if (ty == GB_GGUF_BOOL)
                cJSON_AddBoolToObject(meta, gb_gguf_key(g, i), !strcmp(val, "true"));
            else
                cJSON_AddStringToObject(meta, gb_gguf_key(g, i), val);
        }
        cJSON_AddItemToObject(o, "metadata", meta);
        char *s = cJSON_Print(o);
        if (s) puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("file          %s\n", path);
        printf("architecture  %.*s\n", (int)(arch.len < 64 ? arch.len : 64), arch.ptr);
        printf("parameters    %lld (%.1fM)\n", (long long)n_params, (double)n_params / 1e6);
        if (n_opt) printf("optimizer     %lld values (AdamW moments of a training checkpoint)\n", (long long)n_opt);
        printf("size          %" PRIu64 " bytes, GGUF v%u, %lld tensors, %lld keys\n", gb_gguf_file_size(g),
               gb_gguf_version(g), (long long)gb_gguf_n_tensors(g), (long long)gb_gguf_n_kv(g));
        printf("sha256        %s\n", hex);
        printf("tensor types ");
        for (int t = 0; t < GB_GGML_TYPE_COUNT; t++)
            if (count[t]) printf(" %s: %lld (%.1f MB)", gb_ggml_type_name((uint32_t)t), (long long)count[t], (double)bytes[t] / 1e6);
        printf("\n");
        if (rope.present) {
            rope_text(&rope, val, sizeof val);
            printf("rope scaling  %s\n", val);
        }
        printf("metadata\n");
        for (int64_t i = 0; i < gb_gguf_n_kv(g); i++) {
            value_text(g, i, val, sizeof val);
            printf("  %-42s %s\n", gb_gguf_key(g, i), val);
        }
    }
    gb_gguf_close(g);
    return GB_EXIT_OK;
}
