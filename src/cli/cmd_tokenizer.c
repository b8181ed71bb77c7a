/* glassbox tokenizer train|encode|decode — the tokenizer from the command line.
 * encode: bytes on stdin -> ids on stdout (decimal text on one line, or --binary u32 LE);
 * decode: ids on stdin -> the exact bytes on stdout. `train` lives in cmd_tokenizer_train.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "glassbox/mem.h"
#include "glassbox/tokenizer.h"

static void usage(FILE *fp) {
    fprintf(fp, "usage: glassbox tokenizer COMMAND [OPTIONS]\n\n"
                "Commands:\n"
                "  train    learn a byte-level BPE tokenizer from text files\n"
                "  encode   text on stdin -> token ids on stdout\n"
                "  decode   token ids on stdin -> text on stdout\n\n"
                "'glassbox tokenizer COMMAND --help' describes a command.\n");
}

static const char *const encode_help =
    "usage: glassbox tokenizer encode --tokenizer FILE [--binary] [--no-special]\n\n"
    "Reads bytes on stdin (any bytes: UTF-8 or not) and writes their token ids on stdout,\n"
    "as decimal numbers separated by spaces on one line, or with --binary as little-endian\n"
    "32-bit integers.\n\n"
    "Options:\n"
    "  -t, --tokenizer FILE  a glassbox tokenizer (.json), GPT-2's encoder.json/vocab.json\n"
    "                        (merges.txt or vocab.bpe beside it), a tiktoken rank file,\n"
    "                        or a GGUF model or vocabulary (tokenizer.ggml.* keys)\n"
    "  -b, --binary          write ids as little-endian u32\n"
    "      --no-special      encode special-token strings (e.g. <|endoftext|>) as plain text\n"
    "  -h, --help            show this help\n";

static const char *const decode_help =
    "usage: glassbox tokenizer decode --tokenizer FILE [--binary]\n\n"
    "Reads token ids on stdin (decimal numbers separated by whitespace, or with --binary\n"
    "little-endian 32-bit integers) and writes the bytes they stand for on stdout.\n\n"
    "Options:\n"
    "  -t, --tokenizer FILE  a glassbox tokenizer (.json), GPT-2's encoder.json/vocab.json\n"
    "                        (merges.txt or vocab.bpe beside it), a tiktoken rank file,\n"
    "                        or a GGUF model or vocabulary (tokenizer.ggml.* keys)\n"
    "  -b, --binary          read ids as little-endian u32\n"
    "  -h, --help            show this help\n";

static gb_status read_stdin(gb_bytes *in) {
    char buf[1 << 16];
    for (;;) {
        size_t n = fread(buf, 1, sizeof buf, stdin);
        if (n && gb_bytes_append(in, buf, n) != GB_OK) return GB_ERR_NOMEM;
        if (n < sizeof buf) break;
    }
    if (ferror(stdin)) return gb_errorf(GB_ERR_IO, "stdin: %s", strerror(errno));
    return GB_OK;
}

static gb_status write_stdout(const void *data, size_t n) {
    if ((n && fwrite(data, 1, n, stdout) != n) || fflush(stdout) != 0)
        return gb_errorf(GB_ERR_IO, "stdout: %s", strerror(errno));
    return GB_OK;
}

/* Parses the common options; returns -1 to go on, else an exit code. */
static int parse_opts(const char *cmd, const char *help, int argc, char **argv, const char **tok_path, int *binary,
                      int *no_special) {
    enum { OPT_NO_SPECIAL = 1000 };
    static const struct option longopts[] = {{"tokenizer", required_argument, NULL, 't'},
                                             {"binary", no_argument, NULL, 'b'},
                                             {"no-special", no_argument, NULL, OPT_NO_SPECIAL},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    optind = 0; /* getopt starts over on this sub-argv */
    int c;
    while ((c = gb_cli_getopt(cmd, argc, argv, "t:bh", longopts)) != -1) {
        switch (c) {
        case 't': *tok_path = optarg; break;
        case 'b': *binary = 1; break;
        case OPT_NO_SPECIAL:
            if (!no_special) return gb_cli_usage_error(cmd, "unknown option '--no-special'");
            *no_special = 1;
            break;
        case 'h': fputs(help, stdout); return GB_EXIT_OK;
        default: return GB_EXIT_USAGE;
        }
    }
    if (optind < argc) return gb_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!*tok_path) return gb_cli_usage_error(cmd, "--tokenizer FILE is required");
    return -1;
}

/* Writes ids as decimal text, space-separated, one line. */
static gb_status write_ids_text(const uint32_t *ids, int64_t n) {
    char buf[1 << 16];
    size_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (k > sizeof buf - 16) {
            gb_status rc = write_stdout(buf, k);
            if (rc != GB_OK) return rc;
            k = 0;
        }
        if (i) buf[k++] = ' ';
        char tmp[12];
        int m = 0;
        uint32_t v = ids[i];
        do tmp[m++] = (char)('0' + v % 10), v /= 10;
        while (v);
        while (m) buf[k++] = tmp[--m];
    }
    buf[k++] = '\n';
    return write_stdout(buf, k);
}

static int cmd_encode(int argc, char **argv) {
    const char *tok_path = NULL;
    int binary = 0, no_special = 0;
    int ex = parse_opts("tokenizer encode", encode_help, argc, argv, &tok_path, &binary, &no_special);
    if (ex >= 0) return ex;
    gb_tokenizer *t = NULL;
    gb_bytes in = {0};
    gb_ids ids = {0};
    gb_status rc;
    if ((rc = gb_tokenizer_load(&t, tok_path)) != GB_OK) goto done;
    if ((rc = read_stdin(&in)) != GB_OK) goto done;
    if ((rc = gb_tokenizer_encode(t, in.data, in.len, !no_special, &ids)) != GB_OK) goto done;
    if (binary) {
        /* little-endian on every host */
        for (int64_t i = 0; i < ids.len; i++) {
            uint32_t v = ids.data[i];
            uint8_t *b = (uint8_t *)&ids.data[i];
            b[0] = (uint8_t)v, b[1] = (uint8_t)(v >> 8), b[2] = (uint8_t)(v >> 16), b[3] = (uint8_t)(v >> 24);
        }
        rc = write_stdout(ids.data, (size_t)ids.len * 4);
    } else {
        rc = write_ids_text(ids.data, ids.len);
    }
done:
    gb_tokenizer_free(t);
    gb_bytes_free(&in);
    gb_ids_free(&ids);
    return rc == GB_OK ? GB_EXIT_OK : gb_cli_fail(rc);
}

/* Parses whitespace-separated decimal ids. */
static gb_status parse_ids_text(const uint8_t *s, size_t n, gb_ids *ids) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            i++;
            continue;
        }
        size_t start = i;
        uint64_t v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && v <= UINT32_MAX) v = v * 10 + (uint64_t)(s[i++] - '0');
        int bad_end = i < n && !(s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r' || s[i] == '\f' ||
                                 s[i] == '\v');
        if (i == start || bad_end || v > UINT32_MAX) {
            size_t end = start;
            while (end < n && end - start < 24 && !(s[end] == ' ' || s[end] == '\n' || s[end] == '\t' || s[end] == '\r'))
                end++;
            char shown[80];
            size_t k = 0;
            for (size_t j = start; j < end && k < sizeof shown - 5; j++) {
                if (s[j] >= 0x20 && s[j] < 0x7f) shown[k++] = (char)s[j];
                else k += (size_t)snprintf(shown + k, sizeof shown - k, "\\x%02x", s[j]);
            }
            shown[k] = '\0';
            return gb_errorf(GB_ERR_FORMAT, "stdin: '%s' at byte %zu is not a token id (a decimal number up to %u)",
                             shown, start, UINT32_MAX);
        }
        if (gb_ids_push(ids, (uint32_t)v) != GB_OK) return GB_ERR_NOMEM;
    }
    return GB_OK;
}

static int cmd_decode(int argc, char **argv) {
    const char *tok_path = NULL;
    int binary = 0;
    int ex = parse_opts("tokenizer decode", decode_help, argc, argv, &tok_path, &binary, NULL);
    if (ex >= 0) return ex;
    gb_tokenizer *t = NULL;
    gb_bytes in = {0}, out = {0};
    gb_ids ids = {0};
    gb_status rc;
    if ((rc = gb_tokenizer_load(&t, tok_path)) != GB_OK) goto done;
    if ((rc = read_stdin(&in)) != GB_OK) goto done;
    if (binary) {
        if (in.len % 4) {
            rc = gb_errorf(GB_ERR_FORMAT, "stdin: %zu bytes is not a whole number of 4-byte ids", in.len);
            goto done;
        }
        for (size_t i = 0; i < in.len; i += 4) {
            const uint8_t *b = in.data + i;
            uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            if ((rc = gb_ids_push(&ids, v)) != GB_OK) goto done;
        }
    } else if ((rc = parse_ids_text(in.data, in.len, &ids)) != GB_OK) {
        goto done;
    }
    if ((rc = gb_tokenizer_decode_text(t, ids.data, ids.len, 1, &out)) != GB_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gb_last_error());
        rc = gb_errorf(rc, "stdin: %s of %s", msg, tok_path);
        goto done;
    }
    rc = write_stdout(out.data, out.len);
done:
    gb_tokenizer_free(t);
    gb_bytes_free(&in);
    gb_bytes_free(&out);
    gb_ids_free(&ids);
    return rc == GB_OK ? GB_EXIT_OK : gb_cli_fail(rc);
}

int gb_cmd_tokenizer(int argc, char **argv) {
    if (argc < 2) return gb_cli_usage_error("tokenizer", "missing command (train, encode or decode)");
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
        usage(stdout);
        return GB_EXIT_OK;
    }
    if (!strcmp(sub, "train")) return gb_cmd_tokenizer_train(argc - 1, argv + 1);
    if (!strcmp(sub, "encode")) return cmd_encode(argc - 1, argv + 1);
    if (!strcmp(sub, "decode")) return cmd_decode(argc - 1, argv + 1);
    if (sub[0] == '-') return gb_cli_usage_error("tokenizer", "unknown option '%s'", sub);
    return gb_cli_usage_error("tokenizer", "unknown command '%s'", sub);
}
