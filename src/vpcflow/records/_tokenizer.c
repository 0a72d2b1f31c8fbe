/* The flow log tokenizer: one pass over a block of flow log text into typed columns.
 *
 * Called by records/fastparse.py, which allocates the columns and builds the Arrow batch; see its
 * docstring for the contract. In short: the kernel is stricter than pyarrow, never looser, and any
 * unusual byte makes it give up (a negative result), after which pyarrow reads the block.
 *
 * Why C and not numba or pyarrow: pyarrow's general CSV reader ran at ~1.9M records/s a thread;
 * a numba kernel reached ~7M/s but cost ~0.3 s of LLVM start-up in every process, and walked the
 * bytes one at a time. Here the separators are found 64 bytes at a time (SSE2, baseline on x86-64;
 * a scalar loop elsewhere) as a bit mask, each field's end is the next set bit, and a string
 * field is copied 16 bytes at a time. Rows are counted as they are read: the caller gives room for
 * as many as the block can hold (two bytes a field), so no pass counts them first.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#if (defined(__SSE2__) || defined(_M_X64)) && !defined(VPC_NO_SIMD) /* the tests build both */
#include <emmintrin.h>
#define VPC_SSE2 1
#endif

enum { SKIP = 0, INT32 = 1, INT64 = 2, STRING = 3 };

/* Up to 8 ASCII digits at p (p[0..8) readable) as a number, all at once (SWAR: no loop whose trip
 * count depends on the data, so no mispredicted exit); -1 if a byte is not a digit. */
static inline int64_t digits8(const uint8_t *p, int length) {
    uint64_t chunk;
    memcpy(&chunk, p, 8); /* little-endian: the first digit in the lowest byte */
    int shift = (8 - length) * 8; /* the digits to the top, leading '0's below them */
    if (shift)
        chunk = (chunk << shift) | (0x3030303030303030ULL >> (64 - shift));
    const uint64_t nibbles = 0xF0F0F0F0F0F0F0F0ULL, zeros = 0x3030303030303030ULL;
    if ((chunk & nibbles) != zeros || ((chunk + 0x0606060606060606ULL) & nibbles) != zeros)
        return -1; /* every byte 0x30..0x39: high nibble 3, and still 3 after adding 6 */
    uint64_t v = chunk - zeros;
    v = v * 10 + (v >> 8); /* each byte pair: ten times the first digit plus the second */
    v = (((v & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
         (((v >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
    return (int64_t)v;
}

typedef struct {
    const int8_t *kinds;        /* per column: SKIP, INT32, INT64 or STRING */
    const int64_t *slots;       /* per column: its row among the columns of its kind */
    int32_t *i32;               /* [int32 columns][rows] */
    int64_t *i64;               /* [int64 columns][rows] */
    int32_t *offsets;           /* [string columns][rows + 1], offsets[k][0] == 0 */
    uint8_t *chars;             /* [string columns][chars_width] */
    uint8_t *valid;             /* [columns][rows]: 0 where the field is '-' */
    int64_t *nulls;             /* [columns] */
    const uint8_t *allowed;     /* [values][allowed_width]: the values AWS enumerates */
    const int64_t *allowed_len; /* [values] */
    const int64_t *first, *last; /* per column: its values are allowed[first:last] (none: any) */
    Py_ssize_t ncols, rows, chars_width, allowed_width;
} Columns;

/* Whether a value is one of those AWS enumerates for column c. A value of up to 8 bytes with 8
 * readable is compared as one word against each (the plan pads `allowed` to 8 bytes or more). */
static inline int is_allowed(const Columns *t, Py_ssize_t c, const uint8_t *value, Py_ssize_t length,
                             const uint8_t *data_end) {
    if (length <= 8 && data_end - value >= 8 && t->allowed_width >= 8) {
        uint64_t word, each;
        memcpy(&word, value, 8);
        word &= ~0ULL >> (64 - 8 * length); /* the value's bytes; zeros after, as in `allowed` */
        for (int64_t a = t->first[c]; a < t->last[c]; a++) {
            memcpy(&each, t->allowed + a * t->allowed_width, 8);
            if (t->allowed_len[a] == length && each == word)
                return 1;
        }
        return 0;
    }
    for (int64_t a = t->first[c]; a < t->last[c]; a++)
        if (t->allowed_len[a] == length && memcmp(t->allowed + a * t->allowed_width, value, length) == 0)
            return 1;
    return 0;
}

/* The separators of a block, found 64 bytes at a time: a bit for every byte that cannot be inside
 * a field (a blank, a control byte, DEL or a non-ASCII byte), so that each field's end is the next
 * set bit. Finding ends this way takes
 * the search out of the chain from one field to the next (a load, a compare and a bit scan a
 * field, each waiting on the last), which left the core idle between short fields. */
typedef struct {
    const uint8_t *d;
    Py_ssize_t n, base; /* base: the block offset of the mask's bit 0 */
    uint64_t mask;      /* separators at or after the next field's start, below base + 64 */
} Separators;

static inline uint64_t separators_at(const uint8_t *d, Py_ssize_t base, Py_ssize_t n) {
    uint64_t mask = 0;
#ifdef VPC_SSE2
    if (base + 64 <= n) {
        /* b + 95 (wrapping) maps the printable 33..126 to -128..-35 as signed bytes, and every
         * other byte above -35: one add and one compare flag them all. */
        const __m128i bias = _mm_set1_epi8(95), limit = _mm_set1_epi8(-35);
        for (int i = 0; i < 4; i++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(d + base + 16 * i));
            uint64_t bits = (uint16_t)_mm_movemask_epi8(_mm_cmpgt_epi8(_mm_add_epi8(v, bias), limit));
            mask |= bits << (16 * i);
        }
        return mask;
    }
#endif
    Py_ssize_t stop = base + 64 < n ? base + 64 : n;
    for (Py_ssize_t i = base; i < stop; i++)
        if (d[i] <= 32 || d[i] >= 127)
            mask |= 1ULL << (i - base);
    if (stop == n && n - base < 64) /* the end of the block ends a field too */
        mask |= 1ULL << (n - base);
    return mask;
}

/* The next field's end: the first separator at or after the field's start, or n. */
static inline Py_ssize_t next_separator(Separators *s) {
    while (!s->mask) {
        s->base += 64;
        if (s->base > s->n)
            return s->n;
        s->mask = separators_at(s->d, s->base, s->n);
    }
    Py_ssize_t end = s->base + __builtin_ctzll(s->mask);
    s->mask &= s->mask - 1;
    return end;
}

/* A field's bytes to out: 16 at a time where 16 more are readable (the caller leaves 16 bytes of
 * room after its buffer), else byte by byte. */
static inline void copy_field(uint8_t *out, const uint8_t *from, Py_ssize_t length, const uint8_t *data_end) {
#ifdef VPC_SSE2
    if (data_end - from >= length + 16) {
        for (Py_ssize_t i = 0; i < length; i += 16)
            _mm_storeu_si128((__m128i *)(out + i), _mm_loadu_si128((const __m128i *)(from + i)));
        return;
    }
#endif
    memcpy(out, from, length);
}

/* Fill the columns: the number of rows read, or -1 - (byte offset) where the block is unusual.
 * The columns are copied to restrict-qualified locals: byte stores may alias anything in C, and
 * without `restrict` every store to `valid` or `chars` would reload the plan from memory. */
static Py_ssize_t tokenize_into(const uint8_t *restrict d, Py_ssize_t n, const Columns *t) {
    const int8_t *restrict kinds = t->kinds;
    const int64_t *restrict slots = t->slots, *restrict first = t->first, *restrict last = t->last;
    int32_t *restrict i32 = t->i32, *restrict offsets = t->offsets;
    int64_t *restrict i64 = t->i64, *restrict nulls = t->nulls;
    uint8_t *restrict chars = t->chars, *restrict valid = t->valid;
    const Py_ssize_t ncols = t->ncols, rows = t->rows, chars_width = t->chars_width;
    Separators seps = {d, n, 0, n ? separators_at(d, 0, n) : 0};
    Py_ssize_t pos = 0, row = 0;
    while (pos < n) {
        if (row >= rows)
            return -1 - pos;
        for (Py_ssize_t c = 0; c < ncols; c++) {
            int kind = kinds[c];
            int64_t k = slots[c];
            Py_ssize_t start = pos, end = next_separator(&seps);
            Py_ssize_t length = end - start;
            if (length == 0) /* an empty line, a double or edge blank, or a byte AWS never writes */
                return -1 - start;
            int null = (length == 1) & (d[start] == '-');
            valid[c * rows + row] = !null;
            nulls[c] += null;
            if (kind == STRING) {
                int32_t at = offsets[k * (rows + 1) + row];
                if (null)
                    length = 0;
                else if (first[c] < last[c] && !is_allowed(t, c, d + start, length, d + n))
                    return -1 - start;
                else
                    copy_field(chars + k * chars_width + at, d + start, length, d + n);
                offsets[k * (rows + 1) + row + 1] = at + (int32_t)length;
            } else if (kind != SKIP) {
                /* Nineteen digits always fit a uint64, so the range checks below are exact. */
                uint64_t value = 0;
                if (!null) {
                    if (length > 19 || (kind == INT32 && length > 10))
                        return -1 - start;
                    if (length == 1) { /* a protocol, a version: common enough for a shortcut */
                        value = (unsigned)d[start] - '0';
                        if (value > 9)
                            return -1 - start;
                    } else if (length <= 16 && start + 16 <= n) { /* 16 bytes readable: two words */
                        int high = length > 8 ? (int)length - 8 : 0;
                        int64_t top = high ? digits8(d + start, high) : 0;
                        int64_t low = digits8(d + start + high, (int)length - high);
                        if (top < 0 || low < 0) /* a sign, a point, a letter */
                            return -1 - start;
                        value = (uint64_t)top * 100000000u + (uint64_t)low;
                    } else {
                        for (Py_ssize_t i = start; i < end; i++) {
                            unsigned digit = (unsigned)d[i] - '0';
                            if (digit > 9)
                                return -1 - i;
                            value = value * 10 + digit;
                        }
                    }
                    if (value > (kind == INT32 ? (uint64_t)INT32_MAX : (uint64_t)INT64_MAX))
                        return -1 - start;
                }
                if (kind == INT32) /* 0 under a null, as pyarrow writes */
                    i32[k * rows + row] = (int32_t)value;
                else
                    i64[k * rows + row] = (int64_t)value;
            }
            /* Separator: a space between fields, a newline (or the end) after the last one. */
            if (c == ncols - 1) {
                if (end < n && d[end] != '\n')
                    return -1 - end;
            } else if (end >= n || d[end] != ' ') {
                return -1 - end;
            }
            pos = end + 1;
        }
        row++;
    }
    return row;
}

/* Whether buffer `b` holds x * y * z bytes; the product is checked for overflow, since the sizes
   come from the caller (a wrapped product would pass the check and the kernel write out of bounds). */
static int need(Py_buffer *b, Py_ssize_t x, Py_ssize_t y, Py_ssize_t z, const char *name) {
    Py_ssize_t bytes = 0;
    if (x && y && z) {
        if (y > PY_SSIZE_T_MAX / x || z > PY_SSIZE_T_MAX / (x * y)) {
            PyErr_Format(PyExc_ValueError, "%s: %zd x %zd x %zd bytes is too large", name, x, y, z);
            return 0;
        }
        bytes = x * y * z;
    }
    if (b->len < bytes) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes, %zd needed", name, b->len, bytes);
        return 0;
    }
    return 1;
}

static PyObject *tokenize(PyObject *self, PyObject *args) {
    Py_buffer data, kinds, slots, i32, i64, offsets, chars, valid, nulls, allowed, allowed_len, first, last;
    Columns t;
    if (!PyArg_ParseTuple(args, "y*y*y*w*w*w*w*w*w*y*y*y*y*nnnn", &data, &kinds, &slots, &i32, &i64,
                          &offsets, &chars, &valid, &nulls, &allowed, &allowed_len, &first, &last,
                          &t.ncols, &t.rows, &t.chars_width, &t.allowed_width))
        return NULL;
    Py_buffer *all[] = {&data, &kinds, &slots, &i32, &i64, &offsets, &chars,
                        &valid, &nulls, &allowed, &allowed_len, &first, &last};
    PyObject *result = NULL;
    Py_ssize_t c = t.ncols, r = t.rows, strings = 0, ints32 = 0, ints64 = 0, values = allowed_len.len / 8;
    if (c < 0 || r < 0 || r == PY_SSIZE_T_MAX || t.allowed_width < 0) {
        PyErr_SetString(PyExc_ValueError, "negative size, or rows too large");
        goto done;
    }
    if (!need(&kinds, 1, 1, c, "kinds") || !need(&slots, 8, 1, c, "slots") || !need(&first, 8, 1, c, "first") ||
        !need(&last, 8, 1, c, "last") || !need(&valid, 1, c, r, "valid") || !need(&nulls, 8, 1, c, "nulls"))
        goto done;
    for (Py_ssize_t i = 0; i < c; i++) { /* a plan the kernel can trust with its pointers */
        int8_t kind = ((int8_t *)kinds.buf)[i];
        int64_t slot = ((int64_t *)slots.buf)[i], lo = ((int64_t *)first.buf)[i], hi = ((int64_t *)last.buf)[i];
        if (kind < SKIP || kind > STRING || lo < 0 || lo > hi || hi > values ||
            (kind != SKIP && (slot < 0 || slot >= c))) { /* a column's slot among at most c */
            PyErr_Format(PyExc_ValueError, "column %zd: bad plan", i);
            goto done;
        }
        Py_ssize_t *count = kind == STRING ? &strings : kind == INT32 ? &ints32 : &ints64;
        if (kind != SKIP && slot + 1 > *count)
            *count = slot + 1;
    }
    /* Every string column's bytes may be as long as the block, plus the 16-byte overrun. */
    if (!need(&i32, 4, ints32, r, "i32") || !need(&i64, 8, ints64, r, "i64") ||
        !need(&offsets, 4, strings, r + 1, "offsets") ||
        (strings && (t.chars_width < data.len + 16 || !need(&chars, 1, strings, t.chars_width, "chars"))) ||
        !need(&allowed, 1, values, t.allowed_width, "allowed")) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "chars: rows narrower than the block plus 16 bytes");
        goto done;
    }
    t.kinds = kinds.buf, t.slots = slots.buf, t.i32 = i32.buf, t.i64 = i64.buf, t.offsets = offsets.buf;
    t.chars = chars.buf, t.valid = valid.buf, t.nulls = nulls.buf, t.allowed = allowed.buf;
    t.allowed_len = allowed_len.buf, t.first = first.buf, t.last = last.buf;
    for (Py_ssize_t k = 0; k < strings; k++)
        t.offsets[k * (r + 1)] = 0;
    Py_ssize_t rows;
    Py_BEGIN_ALLOW_THREADS
    rows = tokenize_into((const uint8_t *)data.buf, data.len, &t);
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(rows);
done:
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        PyBuffer_Release(all[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"tokenize", tokenize, METH_VARARGS,
     "tokenize(data, kinds, slots, i32, i64, offsets, chars, valid, nulls, allowed, allowed_len, first, "
     "last, ncols, rows, chars_width, allowed_width) -> rows read, or -1 - offset where it gave up"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tokenizer", NULL, -1, methods};

PyMODINIT_FUNC PyInit__tokenizer(void) { return PyModule_Create(&module); }
