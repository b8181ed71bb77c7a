/* glassbox — GGUF v3 files: the model and checkpoint format that llama.cpp and Ollama read.
 *
 * Byte layout (all integers little-endian; the spec is ggml's docs/gguf.md, ours docs/gguf.md):
 *
 *   header     u8[4] magic "GGUF" · u32 version (2 or 3) · u64 tensor_count · u64 kv_count
 *   kv × kv_count
 *              string key · u32 value_type · value
 *   tensor_info × tensor_count
 *              string name · u32 n_dims · u64 ne[n_dims] · u32 ggml_type · u64 offset
 *   padding    0x00 up to the next multiple of ALIGNMENT (only when tensor_count > 0)
 *   data       each tensor at data_start + offset; offsets are multiples of ALIGNMENT
 *
 *   string     u64 len · len bytes of UTF-8, no terminating NUL
 *   value      UINT8 INT8 UINT16 INT16 UINT32 INT32 FLOAT32 BOOL(1 byte, 0 or 1) UINT64 INT64
 *              FLOAT64: the number; STRING: a string;
 *              ARRAY: u32 element type · u64 n · n values of that type (arrays may nest)
 *
 * ALIGNMENT is the UINT32 key `general.alignment` (default 32, a power of two). Dimensions are
 * listed innermost first, as in ggml: ne[0] is the contiguous row length, so a PyTorch weight
 * of shape (out, in) is stored with ne = {in, out}. A tensor of a block-quantized type holds
 * ne[0]/block_size blocks per row.
 *
 * The reader maps the file and treats it as hostile: every count, length, type, shape and
 * offset is checked before use (docs/gguf.md lists the checks and caps), and a bad file gives
 * GB_ERR_FORMAT with one line naming the file and the problem. Metadata values and tensor
 * data are views into the mapping; nothing large is copied. The writer builds a file from
 * key/values and tensor pointers and writes it atomically; whatever it writes, the reader
 * accepts, and llama.cpp's loader accepts too (unless nested arrays are used). */
#ifndef GLASSBOX_GGUF_H
#define GLASSBOX_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "glassbox/error.h"

#define GB_GGUF_MAGIC "GGUF"
#define GB_GGUF_VERSION 3
#define GB_GGUF_DEFAULT_ALIGNMENT 32
#define GB_GGUF_MAX_DIMS 4
#define GB_GGUF_MAX_KEY 65535               /* bytes in a key (spec) */
#define GB_GGUF_MAX_NAME 64                 /* bytes in a tensor name (spec); the writer allows 63, as llama.cpp */
#define GB_GGUF_MAX_STRING (1u << 28)       /* bytes in one string value */
#define GB_GGUF_MAX_ARRAY ((uint64_t)1 << 28) /* elements in one array */
#define GB_GGUF_MAX_DEPTH 8                 /* nesting of arrays inside arrays */
#define GB_GGUF_MAX_META ((uint64_t)1 << 30) /* header + metadata + tensor infos, in bytes */

/* Metadata value types (the numbers are the file's). */
typedef enum gb_gguf_type {
    GB_GGUF_UINT8 = 0,
    GB_GGUF_INT8 = 1,
    GB_GGUF_UINT16 = 2,
    GB_GGUF_INT16 = 3,
    GB_GGUF_UINT32 = 4,
    GB_GGUF_INT32 = 5,
    GB_GGUF_FLOAT32 = 6,
    GB_GGUF_BOOL = 7,
    GB_GGUF_STRING = 8,
    GB_GGUF_ARRAY = 9,
    GB_GGUF_UINT64 = 10,
    GB_GGUF_INT64 = 11,
    GB_GGUF_FLOAT64 = 12,
    GB_GGUF_TYPE_COUNT
} gb_gguf_type;

/* Tensor element types (ggml's ids; the gaps are ids ggml removed from GGUF). */
typedef enum gb_ggml_type {
    GB_GGML_F32 = 0,
    GB_GGML_F16 = 1,
    GB_GGML_Q4_0 = 2,
    GB_GGML_Q4_1 = 3,
    GB_GGML_Q5_0 = 6,
    GB_GGML_Q5_1 = 7,
    GB_GGML_Q8_0 = 8,
    GB_GGML_Q8_1 = 9,
    GB_GGML_Q2_K = 10,
    GB_GGML_Q3_K = 11,
    GB_GGML_Q4_K = 12,
    GB_GGML_Q5_K = 13,
    GB_GGML_Q6_K = 14,
    GB_GGML_Q8_K = 15,
    GB_GGML_IQ2_XXS = 16,
    GB_GGML_IQ2_XS = 17,
    GB_GGML_IQ3_XXS = 18,
    GB_GGML_IQ1_S = 19,
    GB_GGML_IQ4_NL = 20,
    GB_GGML_IQ3_S = 21,
    GB_GGML_IQ2_S = 22,
    GB_GGML_IQ4_XS = 23,
    GB_GGML_I8 = 24,
    GB_GGML_I16 = 25,
    GB_GGML_I32 = 26,
    GB_GGML_I64 = 27,
    GB_GGML_F64 = 28,
    GB_GGML_IQ1_M = 29,
    GB_GGML_BF16 = 30,
    GB_GGML_TQ1_0 = 34,
    GB_GGML_TQ2_0 = 35,
    GB_GGML_MXFP4 = 39,
    GB_GGML_TYPE_COUNT = 40
} gb_ggml_type;

/* "uint32", "string", ...; "?" for a value outside the enum. */
const char *gb_gguf_type_name(uint32_t type);
/* "F32", "Q4_K", ...; NULL for an id this build does not know (or that ggml removed). */
const char *gb_ggml_type_name(uint32_t type);
/* Elements per block (1 for plain types) and bytes per block; both 0 for an unknown id. */
int64_t gb_ggml_blck_size(uint32_t type);
size_t gb_ggml_type_size(uint32_t type);
/* *out = bytes of a tensor of `type` and shape ne[0..n_dims). GB_ERR_ARG with a message if
 * the type is unknown, n_dims is outside 1..4, a dimension is < 1, ne[0] is not a multiple
 * of the block size, or the element count or byte size overflows. */
gb_status gb_ggml_nbytes(uint32_t type, int n_dims, const int64_t *ne, size_t *out);

/* ---------------------------------------------------------------- reader */

typedef struct gb_gguf gb_gguf;

/* A string value: a view into the file, NOT NUL-terminated (and it may contain NUL bytes). */
typedef struct gb_gguf_str {
    const char *ptr;
    uint64_t len;
} gb_gguf_str;

/* An array value: a view into the file. Read elements with the gb_gguf_arr_* functions. */
typedef struct gb_gguf_arr {
    gb_gguf_type type;        /* element type */
    uint64_t n;               /* element count */
    const uint8_t *data;      /* the encoded elements (unaligned) */
    const uint64_t *offsets_; /* private: where STRING and ARRAY elements start */
} gb_gguf_arr;

typedef struct gb_gguf_tensor {
    const char *name;      /* NUL-terminated, 1..64 bytes */
    gb_ggml_type type;
    int n_dims;            /* 1..4 */
    int64_t ne[GB_GGUF_MAX_DIMS]; /* ne[0] innermost; ne[n_dims..3] = 1 */
    int64_t n_elements;    /* product of ne */
    size_t nbytes;         /* n_elements / block size * type size */
    uint64_t offset;       /* from the start of the data section */
    const void *data;      /* read-only, in the mapping; aligned to the file's alignment when
                            * opened with gb_gguf_open */
} gb_gguf_tensor;

/* Maps and validates `path`. On success *out owns the mapping until gb_gguf_close; every
 * pointer the API returns lives as long. GB_ERR_IO if the file cannot be opened or mapped,
 * GB_ERR_FORMAT (one line naming the file and the problem) if it is not a valid GGUF v2/v3
 * file, GB_ERR_NOMEM if memory runs out. *out is NULL on failure. */
gb_status gb_gguf_open(gb_gguf **out, const char *path);
/* As gb_gguf_open, over bytes in memory that the caller keeps alive and unchanged until
 * gb_gguf_close; `name` stands for the file in messages. Tensor data is aligned only as far
 * as `data` is. */
gb_status gb_gguf_open_mem(gb_gguf **out, const void *data, size_t len, const char *name);
void gb_gguf_close(gb_gguf *g); /* gb_gguf_close(NULL) is a no-op */
/* Tells the OS that the mapped file's whole pages within [p, p + n) will not be read again,
 * so they leave the process's resident memory (a copy was made of them). A no-op for
 * in-memory images and for a range outside the mapping. Reading them later still works. */
void gb_gguf_drop_pages(const gb_gguf *g, const void *p, size_t n);

const char *gb_gguf_path(const gb_gguf *g);
uint32_t gb_gguf_version(const gb_gguf *g);
uint32_t gb_gguf_alignment(const gb_gguf *g);
uint64_t gb_gguf_data_offset(const gb_gguf *g); /* file offset of the data section */
uint64_t gb_gguf_file_size(const gb_gguf *g);

/* Key/values, in file order: i in [0, gb_gguf_n_kv). */
int64_t gb_gguf_n_kv(const gb_gguf *g);
const char *gb_gguf_key(const gb_gguf *g, int64_t i);        /* NUL-terminated */
gb_gguf_type gb_gguf_kv_type(const gb_gguf *g, int64_t i);
int64_t gb_gguf_find_key(const gb_gguf *g, const char *key); /* index, or -1 */
/* The encoded value of key i (the bytes after its type field), for copying it verbatim. */
void gb_gguf_kv_raw(const gb_gguf *g, int64_t i, const void **bytes, size_t *len);

/* Typed getters by key. Each fails with GB_ERR_FORMAT and a message naming the file and key
 * if the key is missing or holds another type; *out is untouched then. */
gb_status gb_gguf_get_u8(const gb_gguf *g, const char *key, uint8_t *out);
gb_status gb_gguf_get_i8(const gb_gguf *g, const char *key, int8_t *out);
gb_status gb_gguf_get_u16(const gb_gguf *g, const char *key, uint16_t *out);
gb_status gb_gguf_get_i16(const gb_gguf *g, const char *key, int16_t *out);
gb_status gb_gguf_get_u32(const gb_gguf *g, const char *key, uint32_t *out);
gb_status gb_gguf_get_i32(const gb_gguf *g, const char *key, int32_t *out);
gb_status gb_gguf_get_u64(const gb_gguf *g, const char *key, uint64_t *out);
gb_status gb_gguf_get_i64(const gb_gguf *g, const char *key, int64_t *out);
gb_status gb_gguf_get_f32(const gb_gguf *g, const char *key, float *out);
gb_status gb_gguf_get_f64(const gb_gguf *g, const char *key, double *out);
gb_status gb_gguf_get_bool(const gb_gguf *g, const char *key, bool *out);
gb_status gb_gguf_get_str(const gb_gguf *g, const char *key, gb_gguf_str *out);
/* Lenient numeric getters: any integer type whose value fits int64 (counts are uint32 in some
 * files, uint64 in others), and FLOAT32 or FLOAT64. */
gb_status gb_gguf_get_int(const gb_gguf *g, const char *key, int64_t *out);
gb_status gb_gguf_get_float(const gb_gguf *g, const char *key, double *out);
/* An array whose elements are of type `elem` (GB_GGUF_TYPE_COUNT: any element type). */
gb_status gb_gguf_get_arr(const gb_gguf *g, const char *key, gb_gguf_type elem, gb_gguf_arr *out);

/* Elements of an array. The element type must match the function and i < a->n (checked by
 * GB_ASSERT: a mismatch is a caller's bug, since the type was checked when getting `a`). */
uint8_t gb_gguf_arr_u8(const gb_gguf_arr *a, uint64_t i);
int8_t gb_gguf_arr_i8(const gb_gguf_arr *a, uint64_t i);
uint16_t gb_gguf_arr_u16(const gb_gguf_arr *a, uint64_t i);
int16_t gb_gguf_arr_i16(const gb_gguf_arr *a, uint64_t i);
uint32_t gb_gguf_arr_u32(const gb_gguf_arr *a, uint64_t i);
int32_t gb_gguf_arr_i32(const gb_gguf_arr *a, uint64_t i);
uint64_t gb_gguf_arr_u64(const gb_gguf_arr *a, uint64_t i);
int64_t gb_gguf_arr_i64(const gb_gguf_arr *a, uint64_t i);
float gb_gguf_arr_f32(const gb_gguf_arr *a, uint64_t i);
double gb_gguf_arr_f64(const gb_gguf_arr *a, uint64_t i);
bool gb_gguf_arr_bool(const gb_gguf_arr *a, uint64_t i);
gb_gguf_str gb_gguf_arr_str(const gb_gguf_arr *a, uint64_t i);
gb_gguf_arr gb_gguf_arr_arr(const gb_gguf_arr *a, uint64_t i); /* nested arrays */

/* Is s equal to the NUL-terminated string lit? */
bool gb_gguf_str_eq(gb_gguf_str s, const char *lit);

/* Tensors, in file order: i in [0, gb_gguf_n_tensors). */
int64_t gb_gguf_n_tensors(const gb_gguf *g);
const gb_gguf_tensor *gb_gguf_tensor_at(const gb_gguf *g, int64_t i);
const gb_gguf_tensor *gb_gguf_find_tensor(const gb_gguf *g, const char *name); /* or NULL */

/* ---------------------------------------------------------------- writer */

typedef struct gb_gguf_writer gb_gguf_writer;

/* A new empty file description. Release with gb_gguf_writer_free. */
gb_status gb_gguf_writer_new(gb_gguf_writer **out);
void gb_gguf_writer_free(gb_gguf_writer *w); /* NULL is a no-op */

/* Add one key/value each, in the order they will appear. Keys are 1..65535 bytes without
 * NUL and unique; a bad or repeated key is GB_ERR_ARG (message names it) and adds nothing.
 * `general.alignment` must be UINT32 and a power of two; it sets the file's alignment.
 * Values are copied. */
gb_status gb_gguf_add_u8(gb_gguf_writer *w, const char *key, uint8_t v);
gb_status gb_gguf_add_i8(gb_gguf_writer *w, const char *key, int8_t v);
gb_status gb_gguf_add_u16(gb_gguf_writer *w, const char *key, uint16_t v);
gb_status gb_gguf_add_i16(gb_gguf_writer *w, const char *key, int16_t v);
gb_status gb_gguf_add_u32(gb_gguf_writer *w, const char *key, uint32_t v);
gb_status gb_gguf_add_i32(gb_gguf_writer *w, const char *key, int32_t v);
gb_status gb_gguf_add_u64(gb_gguf_writer *w, const char *key, uint64_t v);
gb_status gb_gguf_add_i64(gb_gguf_writer *w, const char *key, int64_t v);
gb_status gb_gguf_add_f32(gb_gguf_writer *w, const char *key, float v);
gb_status gb_gguf_add_f64(gb_gguf_writer *w, const char *key, double v);
gb_status gb_gguf_add_bool(gb_gguf_writer *w, const char *key, bool v);
gb_status gb_gguf_add_str(gb_gguf_writer *w, const char *key, const char *s);
gb_status gb_gguf_add_strn(gb_gguf_writer *w, const char *key, const char *s, size_t len);
/* An array of n fixed-size elements: `vals` is a C array of the matching C type
 * (uint8_t … double; bool for GB_GGUF_BOOL). STRING and ARRAY elements go through the
 * functions below. */
gb_status gb_gguf_add_arr(gb_gguf_writer *w, const char *key, gb_gguf_type elem, const void *vals,
                          uint64_t n);
/* An array of n NUL-terminated strings (lens NULL), or of strings with the given lengths. */
gb_status gb_gguf_add_arr_str(gb_gguf_writer *w, const char *key, const char *const *strs,
                              const uint64_t *lens, uint64_t n);
/* A value given in its encoded form (the bytes that follow the type field in a file), e.g.
 * nested arrays. The bytes are validated by the reader's rules: GB_ERR_ARG if invalid. */
gb_status gb_gguf_add_raw(gb_gguf_writer *w, const char *key, gb_gguf_type type, const void *bytes,
                          size_t len);
/* Copies key/value i of an open file verbatim. */
gb_status gb_gguf_add_kv_from(gb_gguf_writer *w, const gb_gguf *g, int64_t i);

/* Adds a tensor: name 1..63 bytes, unique; shape ne[0..n_dims) as in the layout above; `data`
 * holds nbytes == gb_ggml_nbytes(type, shape) bytes of the tensor in ggml's encoding.
 * The data is NOT copied: it must stay valid until the file is written. GB_ERR_ARG on a bad
 * name, shape, type or size. */
gb_status gb_gguf_add_tensor(gb_gguf_writer *w, const char *name, gb_ggml_type type, int n_dims,
                             const int64_t *ne, const void *data, size_t nbytes);

/* Writes the file atomically (temp file, fsync, rename); on failure the previous file at
 * `path`, if any, is untouched. Tensors are laid out in the order added, each at the next
 * multiple of the alignment, zero-padded. The writer can be written again or freed. */
gb_status gb_gguf_write(const gb_gguf_writer *w, const char *path);
/* The same bytes to an open stream (no atomicity; `name` stands for it in messages). */
gb_status gb_gguf_write_stream(const gb_gguf_writer *w, FILE *fp, const char *name);
/* Bytes gb_gguf_write will produce. */
uint64_t gb_gguf_writer_size(const gb_gguf_writer *w);

#endif
