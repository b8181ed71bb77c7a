/* glassbox quantize — IN.gguf to OUT.gguf with the weight matrices in one type or llama.cpp's
 * Q4_K_M mix (gb_llm_quantize_ftype: norms and biases stay F32, the output projection Q6_K for
 * the 4-bit types, as llama.cpp does; metadata copied; atomic write). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "glassbox/gguf.h"
#include "glassbox/infer.h"
#include "glassbox/sys.h"

static const char *quantize_help =
    "usage: glassbox quantize IN.gguf OUT.gguf --type TYPE [options]\n"
    "\n"
    "Writes a copy of a GGUF model with its 2-D weight matrices in TYPE. Norms and biases stay\n"
    "F32; the output projection becomes Q6_K for q4_0, q4_k_s and q4_k_m (as llama.cpp does);\n"
    "q4_k_m is llama.cpp's Q4_K_M mix: Q4_K, with attn_v and ffn_down Q6_K on the first and last\n"
    "eighth of the layers and every third between (fused attn_qkv Q6_K where llama.cpp has Q5_K).\n"
    "Matrices whose rows do not fit the type's block size fall back to Q8_0 or F32.\n"
    "\n"
    "  --type T        q8_0, q4_0, q4_k_m, q4_k_s (or q4_k), q6_k, f16, bf16 or f32\n"
    "  --verbose       name the tensors that get another type\n"
    "  --threads N     compute threads (default: one per core)\n"
    "  -h, --help      show this help\n";

int gb_cmd_quantize(int argc, char **argv) {
    const char *cmd = "quantize", *type = NULL;
    int verbose = 0;
    enum { O_TYPE = 256, O_VERBOSE, O_THREADS };
    static const struct option opts[] = {{"type", required_argument, 0, O_TYPE},
                                         {"verbose", no_argument, 0, O_VERBOSE},
                                         {"threads", required_argument, 0, O_THREADS},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = gb_cli_getopt(cmd, argc, argv, "h", opts)) != -1) {
        switch (c) {
        case O_TYPE: type = optarg; break;
        case O_VERBOSE: verbose = 1; break;
        case O_THREADS:
            if (gb_cli_set_threads(cmd, optarg)) return GB_EXIT_USAGE;
            break;
        case 'h': fputs(quantize_help, stdout); return GB_EXIT_OK;
        default: return GB_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) return gb_cli_usage_error(cmd, "IN.gguf and OUT.gguf are required");
    if (!type) return gb_cli_usage_error(cmd, "--type is required");
    static const struct {
        const char *name, *label;
        gb_llm_ftype ftype;
    } types[] = {{"q8_0", "Q8_0", GB_FTYPE_MOSTLY_Q8_0},     {"q4_0", "Q4_0", GB_FTYPE_MOSTLY_Q4_0},
                 {"q4_k_m", "Q4_K_M", GB_FTYPE_MOSTLY_Q4_K_M}, {"q4_k_s", "Q4_K_S", GB_FTYPE_MOSTLY_Q4_K_S},
                 {"q4_k", "Q4_K_S", GB_FTYPE_MOSTLY_Q4_K_S},   {"q6_k", "Q6_K", GB_FTYPE_MOSTLY_Q6_K},
                 {"f16", "F16", GB_FTYPE_MOSTLY_F16},          {"bf16", "BF16", GB_FTYPE_MOSTLY_BF16},
                 {"f32", "F32", GB_FTYPE_ALL_F32}};
    int t = -1;
    for (int i = 0; i < (int)(sizeof types / sizeof *types); i++)
        if (!strcasecmp(type, types[i].name)) t = i;
    if (t < 0)
        return gb_cli_usage_error(cmd, "--type wants q8_0, q4_0, q4_k_m, q4_k_s (q4_k), q6_k, f16, bf16 or f32, not '%s'",
                                  type);
    const char *in = argv[optind], *out = argv[optind + 1];
    double t0 = gb_time_now();
    gb_status rc = gb_llm_quantize_ftype(in, out, types[t].ftype, verbose);
    if (rc) return gb_cli_fail(rc);
    gb_gguf *g = NULL;
    if (!gb_gguf_open(&g, out)) {
        printf("%s: %s, %.1f MB (%.1f s)\n", out, types[t].label, (double)gb_gguf_file_size(g) / 1e6,
               gb_time_now() - t0);
        gb_gguf_close(g);
    }
    return GB_EXIT_OK;
}
