/* The bundled corpora in data/: every file listed in data/SOURCES.json matches its recorded
 * SHA-256, byte count and line count (all of the uncompressed text), and the English and
 * Spanish Bibles align by verse key. scripts/export-corpora.sh writes both the files and
 * the index; if this fails after a package upgrade, rerun it and review the diff. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/sha256.h"
#include "test.h"

#define SOURCES "data/SOURCES.json"
#define MAX_CORPUS ((size_t)64 << 20) /* far above any bundled file; a cap, not a size */

static int64_t count_lines(const char *s, size_t len) {
    int64_t n = 0;
    for (const char *p = s; (p = memchr(p, '\n', len - (size_t)(p - s))) != NULL; p++) n++;
    return n;
}

static const char *json_str(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int json_int(const cJSON *obj, const char *key, int64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9e15) return 0;
    *out = (int64_t)v->valuedouble;
    return (double)*out == v->valuedouble;
}

static cJSON *load_sources(void) {
    char *text = NULL;
    size_t len = 0;
    if (gb_read_file(SOURCES, 1 << 20, &text, &len) != GB_OK) {
        gb_test_fail(__FILE__, __LINE__, "%s", gb_last_error());
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    gb_free(text);
    if (!root) gb_test_fail(__FILE__, __LINE__, "%s: not valid JSON", SOURCES);
    return root;
}

TEST(data_corpora_match_sources_json) {
    cJSON *root = load_sources();
    REQUIRE(root);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
    CHECK(cJSON_IsArray(files) && cJSON_GetArraySize(files) >= 3);
    const cJSON *f;
    cJSON_ArrayForEach(f, files) {
        const char *path = json_str(f, "path"), *want_sha = json_str(f, "sha256");
        int64_t want_bytes = -1, want_lines = -1;
        if (!path || !want_sha || !json_int(f, "bytes", &want_bytes) || !json_int(f, "lines", &want_lines)) {
            gb_test_fail(__FILE__, __LINE__, "%s: entry %s lacks path/sha256/bytes/lines", SOURCES,
                          path ? path : "(no path)");
            continue;
        }
        CHECK(json_str(f, "licence") && json_str(f, "description") && json_str(f, "format"));
        CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(f, "source")));

        char *data = NULL;
        size_t len = 0;
        if (gb_read_file(path, MAX_CORPUS, &data, &len) != GB_OK) {
            gb_test_fail(__FILE__, __LINE__, "%s", gb_last_error());
            continue;
        }
        uint8_t digest[32];
        char hex[65];
        gb_sha256(data, len, digest);
        gb_sha256_hex(digest, hex);
        if (strcmp(hex, want_sha) != 0)
            gb_test_fail(__FILE__, __LINE__, "%s: sha256 %s, %s records %s", path, hex, SOURCES, want_sha);
        if ((int64_t)len != want_bytes)
            gb_test_fail(__FILE__, __LINE__, "%s: %zu bytes, %s records %lld", path, len, SOURCES,
                         (long long)want_bytes);
        int64_t lines = count_lines(data, len);
        if (lines != want_lines)
            gb_test_fail(__FILE__, __LINE__, "%s: %lld lines, %s records %lld", path, (long long)lines,
                         SOURCES, (long long)want_lines);
        /* LF endings, a final newline, no NUL: what every text consumer may assume */
        CHECK(len > 0 && data[len - 1] == '\n');
        CHECK(memchr(data, '\r', len) == NULL);
        CHECK(strlen(data) == len);
        gb_free(data);
    }
    cJSON_Delete(root);
}

/* One "KEY<TAB>text" file, split in place: keys[i] and texts[i] point into data. */
typedef struct {
    char *data;
    char **keys, **texts;
    int64_t n;
} verses;

static void verses_free(verses *v) {
    gb_free(v->data);
    free(v->keys);
    free(v->texts);
    memset(v, 0, sizeof *v);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Loads and checks one TSV: every line has a non-empty key, one TAB, non-empty text free of
 * markup; keys are unique. Returns 0 (after reporting) if the file cannot be used. */
static int load_verses(const char *path, verses *v) {
    memset(v, 0, sizeof *v);
    size_t len = 0;
    if (gb_read_file(path, MAX_CORPUS, &v->data, &len) != GB_OK) {
        gb_test_fail(__FILE__, __LINE__, "%s", gb_last_error());
        return 0;
    }
    int64_t cap = count_lines(v->data, len);
    v->keys = malloc((size_t)(cap + 1) * sizeof *v->keys);
    v->texts = malloc((size_t)(cap + 1) * sizeof *v->texts);
    if (!v->keys || !v->texts) {
        gb_test_fail(__FILE__, __LINE__, "%s: out of memory", path);
        return 0;
    }
    int bad = 0;
    int64_t lineno = 0;
    for (char *line = v->data, *end; *line && (end = strchr(line, '\n')) != NULL; line = end + 1) {
        *end = '\0';
        lineno++;
        char *tab = strchr(line, '\t');
        if (!tab || tab == line || tab[1] == '\0' || strchr(tab + 1, '\t')) {
            if (bad++ < 5) gb_test_fail(__FILE__, __LINE__, "%s:%lld: not KEY<TAB>text", path, (long long)lineno);
            continue;
        }
        *tab = '\0';
        if (strpbrk(tab + 1, "<>") && bad++ < 5)
            gb_test_fail(__FILE__, __LINE__, "%s:%lld (%s): markup left in text", path, (long long)lineno, line);
        v->keys[v->n] = line;
        v->texts[v->n] = tab + 1;
        v->n++;
    }
    qsort(v->keys, (size_t)v->n, sizeof *v->keys, cmp_str);
    for (int64_t i = 1; i < v->n; i++)
        if (strcmp(v->keys[i - 1], v->keys[i]) == 0 && bad++ < 5)
            gb_test_fail(__FILE__, __LINE__, "%s: key %s appears twice", path, v->keys[i]);
    return 1;
}

TEST(data_corpora_web_rv1909_align) {
    verses en, es;
    int ok_en = load_verses("data/corpora/web.tsv.gz", &en);
    int ok_es = load_verses("data/corpora/rv1909.tsv.gz", &es);
    if (ok_en && ok_es) {
        /* both key lists are sorted: count the keys they share */
        int64_t i = 0, j = 0, both = 0;
        while (i < en.n && j < es.n) {
            int c = strcmp(en.keys[i], es.keys[j]);
            if (c == 0) both++;
            if (c <= 0) i++;
            if (c >= 0) j++;
        }
        if (both < 30000)
            gb_test_fail(__FILE__, __LINE__, "only %lld verse keys in both WEB and RV1909, want >= 30000",
                         (long long)both);
        CHECK(en.n >= both && es.n >= both);
    }
    verses_free(&en);
    verses_free(&es);
}

TEST(data_corpora_kjv_is_clean_prose) {
    char *data = NULL;
    size_t len = 0;
    CHECK_OK(gb_read_file("data/corpora/kjv.txt.gz", MAX_CORPUS, &data, &len));
    REQUIRE(data);
    CHECK_EQ_INT(count_lines(data, len), 31102); /* Genesis 1:1 .. Revelation 22:21 */
    CHECK(strncmp(data, "In the beginning God created the heaven and the earth.\n", 55) == 0);
    CHECK(strpbrk(data, "<>\t") == NULL);
    CHECK(strstr(data, "  ") == NULL && strstr(data, " \n") == NULL && strstr(data, "\n\n") == NULL);
    gb_free(data);
}
