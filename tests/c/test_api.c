/*
 * test_api.c — checks the C API of libtessera.so against include/tessera.h.
 *
 *   test_api FIXTURES_DIR
 *
 * FIXTURES_DIR holds one directory per model: config.json, model.safetensors
 * and reference_<H>x<W>.safetensors files with the inputs (pixel_values F32
 * [B,3,H,W], rgb8 U8 [B,H,W,3]) and the expected outputs (embedding,
 * patch_tokens, optional register_tokens, optional logits, layer_0, layer_1).
 *
 * Prints one line per check and finishes with "N passed, M failed"; exits 1
 * if any check failed. No framework, C11 + POSIX threads only.
 *
 * Error checks run each call on a fresh thread, so that a non-empty
 * tessera_last_error() proves that this very call set it.
 *
 * Environment: TESSERA_TEST_CYCLES overrides the 100 load/create/run/free
 * cycles (e.g. to shorten a run under valgrind).
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tessera.h"

#define MAX_ABS_TOL 1e-4
#define COSINE_TOL 0.99999
#define MAX_FIXTURES 64
#define MAX_REFS 16

/* ------------------------------------------------------------------------ */
/* Reporting                                                                 */

static int g_passed, g_failed;

static int check(int ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (ok) g_passed++;
    else g_failed++;
    return ok;
}

static void note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("NOTE ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static const char *safe_str(const char *s) { return s != NULL ? s : "(null)"; }

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

static char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return NULL; }
    char *buf = malloc((size_t)len + 1);
    if (buf == NULL) { fclose(f); return NULL; }
    size_t got = fread(buf, 1, (size_t)len, f);
    fclose(f);
    if (got != (size_t)len) { free(buf); return NULL; }
    buf[len] = '\0';
    if (size != NULL) *size = (size_t)len;
    return buf;
}

static int write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) return 0;
    size_t put = size > 0 ? fwrite(data, 1, size, f) : 0;
    int ok = put == size;
    if (fclose(f) != 0) ok = 0;
    return ok;
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ------------------------------------------------------------------------ */
/* A small safetensors reader (test code: string scanning of the header).    */

typedef struct {
    char *buf;
    size_t size;
    char *header;      /* NUL-terminated copy of the JSON header */
    size_t header_len;
    const uint8_t *data;
    size_t data_len;
} st_file;

typedef struct {
    char dtype[16];
    int rank;
    int64_t shape[8];
    size_t numel;
    size_t begin, end;
} st_tensor;

static void st_close(st_file *f) {
    free(f->buf);
    free(f->header);
    memset(f, 0, sizeof *f);
}

static int st_open(const char *path, st_file *f) {
    memset(f, 0, sizeof *f);
    f->buf = read_file(path, &f->size);
    if (f->buf == NULL || f->size < 8) { st_close(f); return 0; }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | (uint8_t)f->buf[i];
    if (n > f->size - 8) { st_close(f); return 0; }
    f->header_len = (size_t)n;
    f->header = malloc(f->header_len + 1);
    if (f->header == NULL) { st_close(f); return 0; }
    memcpy(f->header, f->buf + 8, f->header_len);
    f->header[f->header_len] = '\0';
    f->data = (const uint8_t *)f->buf + 8 + f->header_len;
    f->data_len = f->size - 8 - f->header_len;
    return 1;
}

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* Finds `"key"` used as an object key (followed by ':') in [p, end); returns
 * the position just after the ':' or NULL. */
static const char *find_key(const char *p, const char *end, const char *key) {
    size_t klen = strlen(key);
    while (p != NULL && p < end) {
        const char *q = strstr(p, "\"");
        if (q == NULL || q >= end) return NULL;
        if ((size_t)(end - q) > klen + 1 && strncmp(q + 1, key, klen) == 0 && q[klen + 1] == '"') {
            const char *r = skip_ws(q + klen + 2);
            if (*r == ':') return r + 1;
        }
        /* Skip the whole string starting at q. */
        const char *s = q + 1;
        while (*s != '\0' && *s != '"') s += (*s == '\\' && s[1] != '\0') ? 2 : 1;
        if (*s == '\0') return NULL;
        p = s + 1;
    }
    return NULL;
}

static int parse_int_list(const char *p, const char *end, int64_t *out, int max, int *count) {
    p = skip_ws(p);
    if (*p != '[') return 0;
    p++;
    int n = 0;
    for (;;) {
        p = skip_ws(p);
        if (p >= end) return 0;
        if (*p == ']') break;
        char *e = NULL;
        long long v = strtoll(p, &e, 10);
        if (e == p || n >= max) return 0;
        out[n++] = v;
        p = skip_ws(e);
        if (*p == ',') p++;
        else if (*p != ']') return 0;
    }
    *count = n;
    return 1;
}

static size_t dtype_size(const char *dtype) {
    if (strcmp(dtype, "F32") == 0 || strcmp(dtype, "I32") == 0) return 4;
    if (strcmp(dtype, "U8") == 0 || strcmp(dtype, "I8") == 0 || strcmp(dtype, "BOOL") == 0) return 1;
    if (strcmp(dtype, "F16") == 0 || strcmp(dtype, "BF16") == 0 || strcmp(dtype, "I16") == 0) return 2;
    if (strcmp(dtype, "F64") == 0 || strcmp(dtype, "I64") == 0) return 8;
    return 0;
}

static int st_find(const st_file *f, const char *name, st_tensor *t) {
    memset(t, 0, sizeof *t);
    const char *end = f->header + f->header_len;
    const char *p = find_key(f->header, end, name);
    if (p == NULL) return 0;
    p = skip_ws(p);
    if (*p != '{') return 0;
    const char *obj_end = strchr(p, '}');
    if (obj_end == NULL) return 0;
    const char *d = find_key(p + 1, obj_end, "dtype");
    if (d == NULL) return 0;
    d = skip_ws(d);
    if (*d != '"') return 0;
    d++;
    size_t dl = 0;
    while (d[dl] != '"' && d + dl < obj_end && dl < sizeof t->dtype - 1) dl++;
    memcpy(t->dtype, d, dl);
    t->dtype[dl] = '\0';
    const char *s = find_key(p + 1, obj_end, "shape");
    if (s == NULL || !parse_int_list(s, obj_end, t->shape, 8, &t->rank)) return 0;
    const char *o = find_key(p + 1, obj_end, "data_offsets");
    int64_t offs[2];
    int no = 0;
    if (o == NULL || !parse_int_list(o, obj_end, offs, 2, &no) || no != 2) return 0;
    if (offs[0] < 0 || offs[1] < offs[0] || (uint64_t)offs[1] > f->data_len) return 0;
    t->begin = (size_t)offs[0];
    t->end = (size_t)offs[1];
    t->numel = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->shape[i] < 0) return 0;
        t->numel *= (size_t)t->shape[i];
    }
    size_t es = dtype_size(t->dtype);
    if (es == 0 || t->numel * es != t->end - t->begin) return 0;
    return 1;
}

/* Copies a F32 tensor into a new buffer (the data may be unaligned). */
static float *st_f32(const st_file *f, const char *name, st_tensor *t) {
    if (!st_find(f, name, t) || strcmp(t->dtype, "F32") != 0) return NULL;
    float *out = malloc(t->numel * sizeof(float) + 1);
    if (out == NULL) return NULL;
    memcpy(out, f->data + t->begin, t->numel * sizeof(float));
    return out;
}

static uint8_t *st_u8(const st_file *f, const char *name, st_tensor *t) {
    if (!st_find(f, name, t) || strcmp(t->dtype, "U8") != 0) return NULL;
    uint8_t *out = malloc(t->numel + 1);
    if (out == NULL) return NULL;
    memcpy(out, f->data + t->begin, t->numel);
    return out;
}

/* ------------------------------------------------------------------------ */
/* config.json scanning                                                      */

static int json_number(const char *json, const char *key, double *out) {
    const char *p = find_key(json, json + strlen(json), key);
    if (p == NULL) return 0;
    p = skip_ws(p);
    char *e = NULL;
    double v = strtod(p, &e);
    if (e == p) return 0;
    *out = v;
    return 1;
}

static int json_int(const char *json, const char *key, int64_t *out) {
    double v;
    if (!json_number(json, key, &v) || v != floor(v)) return 0;
    *out = (int64_t)v;
    return 1;
}

/* A string value without escapes; returns 0 if absent or escaped. */
static int json_string_in(const char *from, const char *end, const char *key, char *out, size_t cap) {
    const char *p = find_key(from, end, key);
    if (p == NULL) return 0;
    p = skip_ws(p);
    if (*p != '"') return 0;
    p++;
    size_t n = 0;
    while (p[n] != '"' && p[n] != '\0') {
        if (p[n] == '\\') return 0;
        n++;
    }
    if (p[n] != '"' || n >= cap) return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

/* A list of exactly `n` numbers, e.g. "image_mean": [0.5, 0.5, 0.5]. */
static int json_floats(const char *json, const char *key, double *out, int n) {
    const char *p = find_key(json, json + strlen(json), key);
    if (p == NULL) return 0;
    p = skip_ws(p);
    if (*p != '[') return 0;
    p++;
    for (int i = 0; i < n; i++) {
        p = skip_ws(p);
        char *e = NULL;
        out[i] = strtod(p, &e);
        if (e == p) return 0;
        p = skip_ws(e);
        if (*p == ',') p++;
    }
    return *skip_ws(p) == ']';
}

/* ------------------------------------------------------------------------ */
/* Comparison                                                                */

typedef struct {
    double max_abs;
    double cosine;
    int finite;
} cmp_result;

static cmp_result compare(const float *got, const float *want, size_t n) {
    cmp_result r = {0.0, 1.0, 1};
    double dot = 0.0, ng = 0.0, nw = 0.0;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        if (!isfinite(g)) { r.finite = 0; continue; }
        double d = fabs(g - w);
        if (d > r.max_abs) r.max_abs = d;
        dot += g * w;
        ng += g * g;
        nw += w * w;
    }
    if (ng == 0.0 && nw == 0.0) r.cosine = 1.0;
    else if (ng == 0.0 || nw == 0.0) r.cosine = 0.0;
    else r.cosine = dot / (sqrt(ng) * sqrt(nw));
    return r;
}

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                  */

typedef struct {
    char name[256];
    char dir[1024];
    char model_path[1100];
    char config_path[1100];
    char refs[MAX_REFS][1100];
    int ref_h[MAX_REFS], ref_w[MAX_REFS];
    int nrefs;
    size_t model_bytes;
} fixture;

static fixture g_fix[MAX_FIXTURES];
static int g_loaded[MAX_FIXTURES];
static int g_nfix;

static int cmp_fixture(const void *a, const void *b) {
    return strcmp(((const fixture *)a)->name, ((const fixture *)b)->name);
}

/* dst = a "/" b; returns 0 if it does not fit. */
static int join_path(char *dst, size_t cap, const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la + 1 + lb + 1 > cap) return 0;
    memcpy(dst, a, la);
    dst[la] = '/';
    memcpy(dst + la + 1, b, lb + 1);
    return 1;
}

static void find_fixtures(const char *root) {
    DIR *d = opendir(root);
    if (d == NULL) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && g_nfix < MAX_FIXTURES) {
        if (e->d_name[0] == '.') continue;
        fixture fx;
        memset(&fx, 0, sizeof fx);
        if (strlen(e->d_name) >= sizeof fx.name || !join_path(fx.dir, sizeof fx.dir, root, e->d_name)) continue;
        memcpy(fx.name, e->d_name, strlen(e->d_name) + 1);
        if (!is_dir(fx.dir)) continue;
        join_path(fx.model_path, sizeof fx.model_path, fx.dir, "model.safetensors");
        join_path(fx.config_path, sizeof fx.config_path, fx.dir, "config.json");
        DIR *sub = opendir(fx.dir);
        if (sub == NULL) continue;
        struct dirent *s;
        while ((s = readdir(sub)) != NULL && fx.nrefs < MAX_REFS) {
            int h = 0, w = 0, used = 0;
            if (sscanf(s->d_name, "reference_%dx%d.safetensor%n", &h, &w, &used) == 2 && used > 0 &&
                strcmp(s->d_name + used, "s") == 0 && h > 0 && w > 0 &&
                join_path(fx.refs[fx.nrefs], sizeof fx.refs[0], fx.dir, s->d_name)) {
                fx.ref_h[fx.nrefs] = h;
                fx.ref_w[fx.nrefs] = w;
                fx.nrefs++;
            }
        }
        closedir(sub);
        if (!is_file(fx.model_path) || !is_file(fx.config_path) || fx.nrefs == 0) {
            note("%s: not a model fixture (needs config.json, model.safetensors and "
                 "reference_<H>x<W>.safetensors); skipped", fx.dir);
            continue;
        }
        struct stat st;
        if (stat(fx.model_path, &st) == 0) fx.model_bytes = (size_t)st.st_size;
        g_fix[g_nfix++] = fx;
    }
    closedir(d);
    qsort(g_fix, (size_t)g_nfix, sizeof g_fix[0], cmp_fixture);
}

/* ------------------------------------------------------------------------ */
/* Calls on a fresh thread                                                   */

enum call_fn { CALL_LOAD, CALL_INFO, CALL_CREATE, CALL_RUN_F32, CALL_RUN_RGB8, CALL_SHAPE, CALL_COPY };

typedef struct {
    enum call_fn fn;
    /* inputs; a NULL pointer is passed as NULL */
    const char *path;
    int null_out;                 /* pass NULL as the out-handle / out-rank */
    const tessera_model *model;
    tessera_model_info *info;
    const tessera_session_options *opts;
    tessera_session *session;
    const float *f32;
    const uint8_t *u8;
    size_t images;
    tessera_output which;
    int64_t *shape;
    float *dst;
    size_t dst_n;
    /* results */
    tessera_model *out_model;
    tessera_session *out_session;
    int32_t out_rank;
    tessera_status status;
    char before[256];             /* last_error before the call ("" expected) */
    char msg[1024];
    int msg_null;
} call;

static void *call_thread(void *arg) {
    call *c = arg;
    const char *before = tessera_last_error();
    snprintf(c->before, sizeof c->before, "%s", before != NULL ? before : "(null)");
    switch (c->fn) {
    case CALL_LOAD:
        c->status = tessera_model_load(c->path, c->null_out ? NULL : &c->out_model);
        break;
    case CALL_INFO:
        c->status = tessera_model_get_info(c->model, c->info);
        break;
    case CALL_CREATE:
        c->status = tessera_session_create(c->model, c->opts, c->null_out ? NULL : &c->out_session);
        break;
    case CALL_RUN_F32:
        c->status = tessera_run_f32(c->session, c->f32, c->images);
        break;
    case CALL_RUN_RGB8:
        c->status = tessera_run_rgb8(c->session, c->u8, c->images);
        break;
    case CALL_SHAPE:
        c->status = tessera_output_shape(c->session, c->which, c->shape, c->null_out ? NULL : &c->out_rank);
        break;
    case CALL_COPY:
        c->status = tessera_output_copy(c->session, c->which, c->dst, c->dst_n);
        break;
    }
    const char *m = tessera_last_error();
    c->msg_null = m == NULL;
    snprintf(c->msg, sizeof c->msg, "%s", m != NULL ? m : "");
    return NULL;
}

static void run_call(call *c) {
    pthread_t t;
    c->out_model = NULL;
    c->out_session = NULL;
    if (pthread_create(&t, NULL, call_thread, c) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(2);
    }
    pthread_join(t, NULL);
}

/* Runs the call on a fresh thread and checks that it fails with `want` (or
 * `alt` when alt >= 0), sets a message, and hands out no handle. */
static int expect_fail2(call *c, tessera_status want, tessera_status alt, const char *what) {
    run_call(c);
    int status_ok = c->status == want || (alt >= 0 && c->status == alt);
    int ok = status_ok && !c->msg_null && c->msg[0] != '\0' && c->before[0] == '\0' &&
             c->out_model == NULL && c->out_session == NULL;
    char wanted[128];
    if (alt >= 0)
        snprintf(wanted, sizeof wanted, "%s or %s", tessera_status_string(want), tessera_status_string(alt));
    else
        snprintf(wanted, sizeof wanted, "%s", tessera_status_string(want));
    check(ok, "%s -> %s (want %s); message: \"%s\"%s%s", what, tessera_status_string(c->status),
          wanted, c->msg_null ? "(NULL)" : c->msg,
          (c->out_model != NULL || c->out_session != NULL) ? "; a handle was returned" : "",
          c->before[0] != '\0' ? "; a fresh thread's last_error was not empty" : "");
    if (c->out_model != NULL) tessera_model_free(c->out_model);
    if (c->out_session != NULL) tessera_session_free(c->out_session);
    c->out_model = NULL;
    c->out_session = NULL;
    return ok;
}

static int expect_fail(call *c, tessera_status want, const char *what) {
    return expect_fail2(c, want, -1, what);
}

/* ------------------------------------------------------------------------ */
/* Helpers over the API                                                      */

static int get_info(const tessera_model *m, tessera_model_info *info) {
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    return tessera_model_get_info(m, info) == TESSERA_OK;
}

static float *fetch_output(const tessera_session *s, tessera_output which, int64_t shape[4],
                           int32_t *rank, size_t *count, tessera_status *status) {
    *status = tessera_output_shape(s, which, shape, rank);
    if (*status != TESSERA_OK) return NULL;
    if (*rank < 1 || *rank > 4) {
        *status = TESSERA_ERR_INTERNAL;
        return NULL;
    }
    size_t n = 1;
    for (int i = 0; i < *rank; i++) n *= (size_t)(shape[i] > 0 ? shape[i] : 0);
    float *buf = malloc((n ? n : 1) * sizeof(float));
    if (buf == NULL) return NULL;
    *status = tessera_output_copy(s, which, buf, n);
    if (*status != TESSERA_OK) {
        free(buf);
        return NULL;
    }
    *count = n;
    return buf;
}

static const char *output_name(tessera_output which, char *buf, size_t cap) {
    switch (which) {
    case TESSERA_OUTPUT_LOGITS: return "logits";
    case TESSERA_OUTPUT_EMBEDDING: return "embedding";
    case TESSERA_OUTPUT_PATCH_TOKENS: return "patch_tokens";
    case TESSERA_OUTPUT_REGISTER_TOKENS: return "register_tokens";
    default:
        snprintf(buf, cap, "layer_%d", (int)(which - TESSERA_OUTPUT_LAYER_BASE));
        return buf;
    }
}

/* Compares one output of the session's last run with the reference tensor
 * of the same name. */
static void compare_output(const char *ctx, const tessera_session *s, const st_file *ref,
                           tessera_output which) {
    char nbuf[32];
    const char *name = output_name(which, nbuf, sizeof nbuf);
    st_tensor t;
    float *want = st_f32(ref, name, &t);
    if (want == NULL) {
        check(0, "%s %s: reference tensor missing or not F32", ctx, name);
        return;
    }
    int64_t shape[4] = {-1, -1, -1, -1};
    int32_t rank = -1;
    size_t n = 0;
    tessera_status st;
    float *got = fetch_output(s, which, shape, &rank, &n, &st);
    if (got == NULL) {
        check(0, "%s %s: reading the output -> %s: %s", ctx, name, tessera_status_string(st),
              tessera_last_error());
        free(want);
        return;
    }
    int shape_ok = rank == t.rank;
    for (int i = 0; i < 4; i++) {
        int64_t w = i < t.rank ? t.shape[i] : 1;
        if (shape[i] != w) shape_ok = 0;
    }
    check(shape_ok, "%s %s: shape rank %d [%lld,%lld,%lld,%lld] (reference rank %d [%lld,%lld,%lld])",
          ctx, name, (int)rank, (long long)shape[0], (long long)shape[1], (long long)shape[2],
          (long long)shape[3], t.rank, (long long)t.shape[0], (long long)(t.rank > 1 ? t.shape[1] : 1),
          (long long)(t.rank > 2 ? t.shape[2] : 1));
    if (shape_ok && n == t.numel) {
        cmp_result r = compare(got, want, n);
        check(r.finite && r.max_abs <= MAX_ABS_TOL && r.cosine >= COSINE_TOL,
              "%s %s: max abs %.3g (<= %g), cosine %.8f (>= %g)%s", ctx, name, r.max_abs,
              MAX_ABS_TOL, r.cosine, COSINE_TOL, r.finite ? "" : ", NON-FINITE values");
    }
    free(got);
    free(want);
}

/* Everything a reference file holds, loaded. */
typedef struct {
    st_file file;
    int ok;
    int batch, height, width;
    float *pixels;
    uint8_t *rgb8;
    int has_logits, has_registers, has_layer0, has_layer1;
} reference;

static void ref_free(reference *r) {
    free(r->pixels);
    free(r->rgb8);
    st_close(&r->file);
    memset(r, 0, sizeof *r);
}

static int ref_load(const char *path, reference *r) {
    memset(r, 0, sizeof *r);
    if (!st_open(path, &r->file)) return 0;
    st_tensor tp, tu, tmp;
    r->pixels = st_f32(&r->file, "pixel_values", &tp);
    r->rgb8 = st_u8(&r->file, "rgb8", &tu);
    if (r->pixels == NULL || r->rgb8 == NULL || tp.rank != 4 || tu.rank != 4 || tp.shape[1] != 3 ||
        tu.shape[3] != 3 || tp.shape[0] != tu.shape[0] || tp.shape[2] != tu.shape[1] ||
        tp.shape[3] != tu.shape[2]) {
        ref_free(r);
        return 0;
    }
    r->batch = (int)tp.shape[0];
    r->height = (int)tp.shape[2];
    r->width = (int)tp.shape[3];
    r->has_logits = st_find(&r->file, "logits", &tmp);
    r->has_registers = st_find(&r->file, "register_tokens", &tmp);
    r->has_layer0 = st_find(&r->file, "layer_0", &tmp);
    r->has_layer1 = st_find(&r->file, "layer_1", &tmp);
    r->ok = 1;
    return 1;
}

static void compare_all(const char *ctx, const tessera_session *s, const reference *r) {
    compare_output(ctx, s, &r->file, TESSERA_OUTPUT_EMBEDDING);
    compare_output(ctx, s, &r->file, TESSERA_OUTPUT_PATCH_TOKENS);
    if (r->has_registers) compare_output(ctx, s, &r->file, TESSERA_OUTPUT_REGISTER_TOKENS);
    if (r->has_logits) compare_output(ctx, s, &r->file, TESSERA_OUTPUT_LOGITS);
    if (r->has_layer0) compare_output(ctx, s, &r->file, TESSERA_OUTPUT_LAYER(0));
    if (r->has_layer1) compare_output(ctx, s, &r->file, TESSERA_OUTPUT_LAYER(1));
}

static uint64_t ref_layers_mask(const reference *r) {
    return (r->has_layer0 ? 1u : 0u) | (r->has_layer1 ? 2u : 0u);
}

/* ------------------------------------------------------------------------ */
/* Version, status strings, default options                                  */

static void test_version(void) {
    const char *v = tessera_version();
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", TESSERA_VERSION_MAJOR, TESSERA_VERSION_MINOR,
             TESSERA_VERSION_PATCH);
    check(v != NULL && strcmp(v, TESSERA_VERSION_STRING) == 0,
          "tessera_version() \"%s\" == TESSERA_VERSION_STRING \"%s\"", safe_str(v),
          TESSERA_VERSION_STRING);
    check(v != NULL && strcmp(v, expect) == 0,
          "tessera_version() \"%s\" == MAJOR.MINOR.PATCH \"%s\"", safe_str(v), expect);
}

static void test_status_strings(void) {
    const char *names[10];
    int all_ok = 1;
    for (int s = 0; s <= 9; s++) {
        names[s] = tessera_status_string(s);
        int ok = names[s] != NULL && names[s][0] != '\0';
        check(ok, "tessera_status_string(%d) = \"%s\" is non-empty", s, safe_str(names[s]));
        all_ok &= ok;
    }
    if (all_ok) {
        int distinct = 1;
        for (int i = 0; i <= 9; i++)
            for (int j = i + 1; j <= 9; j++)
                if (strcmp(names[i], names[j]) == 0) distinct = 0;
        check(distinct, "tessera_status_string: the ten codes have distinct names");
    }
    const tessera_status unknown[] = {-1, 10, 255, 12345, INT32_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = tessera_status_string(unknown[i]);
        check(s != NULL && s[0] != '\0', "tessera_status_string(%ld) (unknown) = \"%s\" is non-empty",
              (long)unknown[i], safe_str(s));
    }
}

static void test_default_options(void) {
    tessera_session_options o = tessera_session_default_options();
    check(o.struct_size == sizeof(tessera_session_options),
          "default options: struct_size %zu == sizeof %zu", o.struct_size, sizeof(tessera_session_options));
    check(o.batch == 1, "default options: batch %d == 1", (int)o.batch);
    check(o.height == 0 && o.width == 0, "default options: height %d, width %d == 0 (trained size)",
          (int)o.height, (int)o.width);
    check(o.num_threads == 0, "default options: num_threads %d == 0", (int)o.num_threads);
    check(o.layers_mask == 0, "default options: layers_mask %llu == 0", (unsigned long long)o.layers_mask);
    check(o.max_arena_bytes == 0, "default options: max_arena_bytes %zu == 0", o.max_arena_bytes);
    check(o.isa == TESSERA_ISA_AUTO, "default options: isa %d == TESSERA_ISA_AUTO", (int)o.isa);
}

/* ------------------------------------------------------------------------ */
/* Per model fixture                                                         */

static void test_info(const fixture *fx, const tessera_model *m, const tessera_model_info *info,
                      const reference *trained) {
    const char *n = fx->name;
    check(info->family >= TESSERA_FAMILY_VIT && info->family <= TESSERA_FAMILY_DINOV3,
          "%s info: family %d is a known family", n, (int)info->family);
    check(info->hidden_size > 0 && info->num_layers > 0 && info->num_heads > 0 &&
              info->hidden_size % info->num_heads == 0 && info->mlp_size > 0,
          "%s info: hidden %d, layers %d, heads %d (divides hidden), mlp %d", n, (int)info->hidden_size,
          (int)info->num_layers, (int)info->num_heads, (int)info->mlp_size);
    check(info->patch_size > 0 && info->image_height > 0 && info->image_width > 0 &&
              info->image_height % info->patch_size == 0 && info->image_width % info->patch_size == 0,
          "%s info: patch %d divides trained size %dx%d", n, (int)info->patch_size,
          (int)info->image_height, (int)info->image_width);
    check(info->num_channels == 3, "%s info: num_channels %d == 3", n, (int)info->num_channels);
    check(info->num_classes >= 0 && info->num_register_tokens >= 0 &&
              info->num_prefix_tokens >= 1 + info->num_register_tokens &&
              info->num_prefix_tokens <= 2 + info->num_register_tokens,
          "%s info: classes %d, registers %d, prefix tokens %d (CLS [+ dist] + registers)", n,
          (int)info->num_classes, (int)info->num_register_tokens, (int)info->num_prefix_tokens);
    check(info->pos_resize >= TESSERA_POS_RESIZE_BICUBIC && info->pos_resize <= TESSERA_POS_RESIZE_NONE_ROPE,
          "%s info: pos_resize %d is known", n, (int)info->pos_resize);
    check((info->family == TESSERA_FAMILY_DINOV3) == (info->pos_resize == TESSERA_POS_RESIZE_NONE_ROPE),
          "%s info: RoPE (no position table) exactly for DINOv3", n);
    check(info->isa >= TESSERA_ISA_PORTABLE && info->isa <= TESSERA_ISA_AVX512,
          "%s info: isa %d is a concrete variant", n, (int)info->isa);
    check(info->gemm_kc > 0 && info->gemm_mc > 0, "%s info: GEMM blocking kc %d mc %d", n, (int)info->gemm_kc,
          (int)info->gemm_mc);
    check(memchr(info->blocking_source, '\0', sizeof info->blocking_source) != NULL && info->blocking_source[0] != '\0',
          "%s info: blocking_source \"%.16s\" non-empty and terminated", n, info->blocking_source);
    check(memchr(info->isa_name, '\0', sizeof info->isa_name) != NULL && info->isa_name[0] != '\0',
          "%s info: isa_name \"%.16s\" non-empty and terminated", n, info->isa_name);
    check(memchr(info->architecture, '\0', sizeof info->architecture) != NULL && info->architecture[0] != '\0',
          "%s info: architecture \"%.64s\" non-empty and terminated", n, info->architecture);
    int stds = info->image_std[0] > 0 && info->image_std[1] > 0 && info->image_std[2] > 0;
    check(stds, "%s info: image_mean (%g %g %g), image_std (%g %g %g) > 0", n, (double)info->image_mean[0],
          (double)info->image_mean[1], (double)info->image_mean[2], (double)info->image_std[0],
          (double)info->image_std[1], (double)info->image_std[2]);
    check(info->num_parameters > 0 && info->weight_bytes >= (size_t)info->num_parameters * 4,
          "%s info: %lld parameters, weight_bytes %zu >= 4 x parameters", n,
          (long long)info->num_parameters, info->weight_bytes);
    check(info->l1d_bytes > 0 && info->l2_bytes > 0, "%s info: cache sizes L1d %zu, L2 %zu > 0", n,
          info->l1d_bytes, info->l2_bytes);

    /* Against config.json, where it says. */
    char *cfg = read_file(fx->config_path, NULL);
    if (cfg != NULL) {
        int64_t v;
        double dv;
        if (json_int(cfg, "hidden_size", &v) || json_int(cfg, "embed_dim", &v))
            check(v == info->hidden_size, "%s info: hidden_size %d == config %lld", n, (int)info->hidden_size, (long long)v);
        if (json_int(cfg, "num_hidden_layers", &v) || json_int(cfg, "depth", &v))
            check(v == info->num_layers, "%s info: num_layers %d == config %lld", n, (int)info->num_layers, (long long)v);
        if (json_int(cfg, "num_attention_heads", &v) || json_int(cfg, "num_heads", &v))
            check(v == info->num_heads, "%s info: num_heads %d == config %lld", n, (int)info->num_heads, (long long)v);
        if (json_int(cfg, "intermediate_size", &v))
            check(v == info->mlp_size, "%s info: mlp_size %d == config intermediate_size %lld", n, (int)info->mlp_size, (long long)v);
        else if (json_number(cfg, "mlp_ratio", &dv) && (json_int(cfg, "hidden_size", &v) || json_int(cfg, "embed_dim", &v)))
            check((int64_t)((double)v * dv) == info->mlp_size, "%s info: mlp_size %d == config hidden x mlp_ratio %lld",
                  n, (int)info->mlp_size, (long long)((double)v * dv));
        if (json_int(cfg, "patch_size", &v))
            check(v == info->patch_size, "%s info: patch_size %d == config %lld", n, (int)info->patch_size, (long long)v);
        if (json_int(cfg, "image_size", &v) || json_int(cfg, "img_size", &v))
            check(v == info->image_height && v == info->image_width, "%s info: trained size %dx%d == config %lld", n,
                  (int)info->image_height, (int)info->image_width, (long long)v);
        if (json_int(cfg, "num_register_tokens", &v) || json_int(cfg, "reg_tokens", &v))
            check(v == info->num_register_tokens, "%s info: num_register_tokens %d == config %lld", n,
                  (int)info->num_register_tokens, (long long)v);
        if (json_int(cfg, "num_classes", &v))
            check(v == info->num_classes, "%s info: num_classes %d == config %lld", n, (int)info->num_classes,
                  (long long)v);
        char model_type[64], arch[128];
        const char *end = cfg + strlen(cfg);
        /* Architecture: HF "architectures"[0], timm "architecture". */
        const char *archs = find_key(cfg, end, "architectures");
        if (archs != NULL && *(archs = skip_ws(archs)) == '[') {
            const char *q = strchr(archs, '"');
            const char *qe = q != NULL ? strchr(q + 1, '"') : NULL;
            if (q != NULL && qe != NULL && (size_t)(qe - q - 1) < sizeof arch) {
                memcpy(arch, q + 1, (size_t)(qe - q - 1));
                arch[qe - q - 1] = '\0';
                check(strcmp(info->architecture, arch) == 0, "%s info: architecture \"%s\" == config architectures[0] \"%s\"",
                      n, info->architecture, arch);
            }
        } else if (json_string_in(cfg, end, "architecture", arch, sizeof arch)) {
            check(strcmp(info->architecture, arch) == 0, "%s info: architecture \"%s\" == config architecture \"%s\"", n,
                  info->architecture, arch);
            int want_pr = strstr(arch, "_dinov3") != NULL ? TESSERA_POS_RESIZE_NONE_ROPE
                                                           : TESSERA_POS_RESIZE_BICUBIC_ANTIALIAS;
            check(info->pos_resize == want_pr, "%s info: pos_resize %d is timm's for %s (%d)", n,
                  (int)info->pos_resize, arch, want_pr);
        }
        /* Normalization: preprocessor_config.json beside it (HF) or pretrained_cfg (timm). */
        double mean[3], stdv[3];
        char pp_path[1200] = "";
        char *pp = NULL;
        if (join_path(pp_path, sizeof pp_path, fx->dir, "preprocessor_config.json")) pp = read_file(pp_path, NULL);
        int have = 0;
        const char *source = pp != NULL ? "preprocessor_config.json" : "config pretrained_cfg";
        if (pp != NULL) have = json_floats(pp, "image_mean", mean, 3) && json_floats(pp, "image_std", stdv, 3);
        else have = json_floats(cfg, "mean", mean, 3) && json_floats(cfg, "std", stdv, 3);
        free(pp);
        if (have) {
            int same = 1;
            for (int i = 0; i < 3; i++)
                same &= fabs(info->image_mean[i] - mean[i]) <= 1e-6 && fabs(info->image_std[i] - stdv[i]) <= 1e-6;
            check(same, "%s info: mean/std (%g %g %g)/(%g %g %g) == %s (%g %g %g)/(%g %g %g)", n,
                  (double)info->image_mean[0], (double)info->image_mean[1], (double)info->image_mean[2],
                  (double)info->image_std[0], (double)info->image_std[1], (double)info->image_std[2],
                  source,
                  mean[0], mean[1], mean[2], stdv[0], stdv[1], stdv[2]);
        }
        if (json_string_in(cfg, end, "model_type", model_type, sizeof model_type)) {
            int fam = strcmp(model_type, "vit") == 0 ? TESSERA_FAMILY_VIT
                    : strcmp(model_type, "deit") == 0 ? TESSERA_FAMILY_DEIT
                    : strncmp(model_type, "dinov2", 6) == 0 ? TESSERA_FAMILY_DINOV2
                    : strcmp(model_type, "dinov3_vit") == 0 ? TESSERA_FAMILY_DINOV3 : 0;
            if (fam != 0)
                check(info->family == fam, "%s info: family %d matches model_type \"%s\" (%d)", n,
                      (int)info->family, model_type, fam);
            int pr = strcmp(model_type, "dinov2_with_registers") == 0 ? TESSERA_POS_RESIZE_BICUBIC_ANTIALIAS
                   : fam == TESSERA_FAMILY_DINOV3 ? TESSERA_POS_RESIZE_NONE_ROPE
                   : fam != 0 ? TESSERA_POS_RESIZE_BICUBIC : 0;
            if (pr != 0)
                check(info->pos_resize == pr, "%s info: pos_resize %d is the one of HF model_type \"%s\" (%d)", n,
                      (int)info->pos_resize, model_type, pr);
        }

        /* Labels. */
        check(tessera_model_label(m, -1) == NULL, "%s label(-1) is NULL", n);
        check(tessera_model_label(m, INT32_MAX) == NULL, "%s label(INT32_MAX) is NULL", n);
        if (info->num_classes > 0) {
            check(tessera_model_label(m, info->num_classes) == NULL, "%s label(num_classes=%d) is NULL", n,
                  (int)info->num_classes);
            const char *id2 = find_key(cfg, end, "id2label");
            char want[256];
            if (id2 != NULL && (id2 = strchr(id2, '{')) != NULL) {
                const char *id2_end = strchr(id2, '}');
                if (id2_end != NULL && json_string_in(id2, id2_end, "0", want, sizeof want)) {
                    const char *got = tessera_model_label(m, 0);
                    check(got != NULL && strcmp(got, want) == 0, "%s label(0) \"%s\" == config id2label[\"0\"] \"%s\"",
                          n, safe_str(got), want);
                    const char *last = tessera_model_label(m, info->num_classes - 1);
                    check(last != NULL && last[0] != '\0', "%s label(%d) \"%s\" present", n,
                          (int)info->num_classes - 1, safe_str(last));
                }
            }
        }
        free(cfg);
    } else {
        check(0, "%s: config.json readable", n);
    }

    /* Against the reference shapes. */
    if (trained != NULL && trained->ok) {
        st_tensor t;
        if (st_find(&trained->file, "embedding", &t))
            check(t.rank == 2 && t.shape[1] == info->hidden_size, "%s info: hidden_size %d == reference embedding dim %lld",
                  n, (int)info->hidden_size, (long long)(t.rank == 2 ? t.shape[1] : -1));
        int64_t np = (int64_t)(trained->height / info->patch_size) * (trained->width / info->patch_size);
        if (st_find(&trained->file, "patch_tokens", &t))
            check(t.rank == 3 && t.shape[1] == np, "%s info: reference patch_tokens has %lld = (H/p)(W/p) tokens",
                  n, (long long)(t.rank == 3 ? t.shape[1] : -1));
        if (st_find(&trained->file, "layer_0", &t))
            check(t.rank == 3 && t.shape[1] == np + info->num_prefix_tokens,
                  "%s info: num_prefix_tokens %d == reference layer_0 tokens %lld - patches %lld", n,
                  (int)info->num_prefix_tokens, (long long)(t.rank == 3 ? t.shape[1] : -1), (long long)np);
        if (st_find(&trained->file, "logits", &t))
            check(t.rank == 2 && t.shape[1] == info->num_classes, "%s info: num_classes %d == reference logits %lld", n,
                  (int)info->num_classes, (long long)(t.rank == 2 ? t.shape[1] : -1));
        else
            check(info->num_classes == 0, "%s info: num_classes %d == 0 (reference has no logits)", n,
                  (int)info->num_classes);
        if (st_find(&trained->file, "register_tokens", &t))
            check(t.rank == 3 && t.shape[1] == info->num_register_tokens,
                  "%s info: num_register_tokens %d == reference register_tokens %lld", n,
                  (int)info->num_register_tokens, (long long)(t.rank == 3 ? t.shape[1] : -1));
        else
            check(info->num_register_tokens == 0, "%s info: num_register_tokens %d == 0 (reference has none)", n,
                  (int)info->num_register_tokens);
    }
}

static tessera_session *make_session(const tessera_model *m, int batch, int h, int w, uint64_t mask,
                                     int threads, tessera_isa isa, tessera_status *st) {
    tessera_session_options o = tessera_session_default_options();
    o.batch = batch;
    o.height = h;
    o.width = w;
    o.layers_mask = mask;
    o.num_threads = threads;
    o.isa = isa;
    tessera_session *s = NULL;
    *st = tessera_session_create(m, &o, &s);
    return *st == TESSERA_OK ? s : NULL;
}

/* Runs a reference through a session of the given shape (h = w = 0: the
 * trained size) with both input kinds and compares every output. */
static void run_reference(const char *n, const tessera_model *m, const reference *r, int h, int w,
                          tessera_isa isa, const char *isa_label, int do_rgb8) {
    char ctx[256];
    tessera_status st;
    tessera_session *s = make_session(m, r->batch, h, w, ref_layers_mask(r), 0, isa, &st);
    snprintf(ctx, sizeof ctx, "%s %dx%d%s%s", n, r->height, r->width, h == 0 ? " (trained, size 0)" : "",
             isa_label);
    if (!check(s != NULL, "%s: session batch %d created -> %s %s", ctx, r->batch, tessera_status_string(st),
               st == TESSERA_OK ? "" : tessera_last_error()))
        return;
    check(tessera_session_arena_bytes(s) > 0, "%s: arena_bytes %zu > 0", ctx, tessera_session_arena_bytes(s));

    st = tessera_run_f32(s, r->pixels, (size_t)r->batch);
    char c2[300];
    snprintf(c2, sizeof c2, "%s run_f32", ctx);
    if (check(st == TESSERA_OK, "%s -> %s %s", c2, tessera_status_string(st), st == TESSERA_OK ? "" : tessera_last_error()))
        compare_all(c2, s, r);

    if (do_rgb8) {
        st = tessera_run_rgb8(s, r->rgb8, (size_t)r->batch);
        snprintf(c2, sizeof c2, "%s run_rgb8", ctx);
        if (check(st == TESSERA_OK, "%s -> %s %s", c2, tessera_status_string(st),
                  st == TESSERA_OK ? "" : tessera_last_error()))
            compare_all(c2, s, r);
    }
    tessera_session_free(s);
}

/* Bit-identical results for 1 thread and for the default thread count. */
static void test_thread_determinism(const char *n, const tessera_model *m, const reference *r) {
    tessera_status st1, st2;
    tessera_session *a = make_session(m, r->batch, 0, 0, 0, 1, TESSERA_ISA_AUTO, &st1);
    tessera_session *b = make_session(m, r->batch, 0, 0, 0, 2, TESSERA_ISA_AUTO, &st2);
    if (check(a != NULL && b != NULL, "%s: sessions with 1 and 2 threads created (%s, %s)", n,
              tessera_status_string(st1), tessera_status_string(st2))) {
        st1 = tessera_run_f32(a, r->pixels, (size_t)r->batch);
        st2 = tessera_run_f32(b, r->pixels, (size_t)r->batch);
        if (check(st1 == TESSERA_OK && st2 == TESSERA_OK, "%s: runs with 1 and 2 threads", n)) {
            int64_t sa[4], sb[4];
            int32_t ra, rb;
            size_t na = 0, nb = 0;
            float *pa = fetch_output(a, TESSERA_OUTPUT_PATCH_TOKENS, sa, &ra, &na, &st1);
            float *pb = fetch_output(b, TESSERA_OUTPUT_PATCH_TOKENS, sb, &rb, &nb, &st2);
            check(pa != NULL && pb != NULL && na == nb && memcmp(pa, pb, na * sizeof(float)) == 0,
                  "%s: patch tokens bit-identical with 1 and 2 threads", n);
            free(pa);
            free(pb);
        }
    }
    tessera_session_free(a);
    tessera_session_free(b);
}

/* Two threads share one model, each with its own session. */
typedef struct {
    const tessera_model *model;
    const reference *ref;
    tessera_status status;
    cmp_result cmp;
    int got;
} share_job;

static void *share_thread(void *arg) {
    share_job *j = arg;
    tessera_status st;
    tessera_session *s = make_session(j->model, j->ref->batch, 0, 0, 0, 1, TESSERA_ISA_AUTO, &st);
    j->status = st;
    if (s == NULL) return NULL;
    for (int rep = 0; rep < 3 && j->status == TESSERA_OK; rep++) j->status = tessera_run_f32(s, j->ref->pixels, (size_t)j->ref->batch);
    if (j->status == TESSERA_OK) {
        st_tensor t;
        float *want = st_f32(&j->ref->file, "embedding", &t);
        float *got = want != NULL ? malloc(t.numel * sizeof(float)) : NULL;
        if (got != NULL && tessera_output_copy(s, TESSERA_OUTPUT_EMBEDDING, got, t.numel) == TESSERA_OK) {
            j->cmp = compare(got, want, t.numel);
            j->got = 1;
        }
        free(got);
        free(want);
    }
    tessera_session_free(s);
    return NULL;
}

static void test_shared_model(const char *n, const tessera_model *m, const reference *r) {
    share_job jobs[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].model = m;
        jobs[i].ref = r;
        pthread_create(&t[i], NULL, share_thread, &jobs[i]);
    }
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++)
        check(jobs[i].status == TESSERA_OK && jobs[i].got && jobs[i].cmp.max_abs <= MAX_ABS_TOL &&
                  jobs[i].cmp.cosine >= COSINE_TOL,
              "%s: thread %d of 2 sharing the model -> %s, embedding max abs %.3g, cosine %.8f", n, i,
              tessera_status_string(jobs[i].status), jobs[i].cmp.max_abs, jobs[i].cmp.cosine);
}

/* Returns 1 if the model loaded. */
static int test_fixture(const fixture *fx) {
    const char *n = fx->name;
    tessera_model *m = NULL;
    tessera_status st = tessera_model_load(fx->dir, &m);
    if (!check(st == TESSERA_OK && m != NULL, "%s: load directory -> %s %s", n, tessera_status_string(st),
               st == TESSERA_OK ? "" : tessera_last_error()))
        return 0;
    tessera_model_info info;
    st = TESSERA_OK;
    int got_info = get_info(m, &info);
    if (!check(got_info, "%s: get_info -> %s", n, got_info ? "OK" : tessera_last_error())) {
        tessera_model_free(m);
        return 1;
    }
    printf("     %s: family %d, %s, D=%d, L=%d, heads=%d, mlp=%d, patch=%d, %dx%d, classes=%d, registers=%d, "
           "prefix=%d, pos_resize=%d, isa=%s\n",
           n, (int)info.family, info.architecture, (int)info.hidden_size, (int)info.num_layers,
           (int)info.num_heads, (int)info.mlp_size, (int)info.patch_size, (int)info.image_height,
           (int)info.image_width, (int)info.num_classes, (int)info.num_register_tokens,
           (int)info.num_prefix_tokens, (int)info.pos_resize, info.isa_name);

    /* Load through the .safetensors path, config.json beside it. */
    tessera_model *m2 = NULL;
    st = tessera_model_load(fx->model_path, &m2);
    if (check(st == TESSERA_OK && m2 != NULL, "%s: load via model.safetensors path -> %s %s", n,
              tessera_status_string(st), st == TESSERA_OK ? "" : tessera_last_error())) {
        tessera_model_info info2;
        check(get_info(m2, &info2) && info2.hidden_size == info.hidden_size && info2.num_layers == info.num_layers &&
                  info2.num_parameters == info.num_parameters,
              "%s: same info through the file path", n);
    }
    tessera_model_free(m2);

    /* References. */
    int trained_idx = -1;
    for (int i = 0; i < fx->nrefs; i++)
        if (fx->ref_h[i] == info.image_height && fx->ref_w[i] == info.image_width) trained_idx = i;
    reference trained;
    memset(&trained, 0, sizeof trained);
    if (check(trained_idx >= 0, "%s: reference_%dx%d.safetensors (trained size) exists", n, (int)info.image_height,
              (int)info.image_width))
        check(ref_load(fx->refs[trained_idx], &trained), "%s: trained-size reference readable (pixel_values, rgb8)", n);

    test_info(fx, m, &info, &trained);

    if (trained.ok) {
        check(trained.height == info.image_height && trained.width == info.image_width,
              "%s: reference pixel_values size %dx%d matches its name", n, trained.height, trained.width);
        run_reference(n, m, &trained, 0, 0, TESSERA_ISA_AUTO, "", 1);
        run_reference(n, m, &trained, info.image_height, info.image_width, TESSERA_ISA_AUTO, " (explicit size)", 0);
        /* Every lower kernel variant must give the same answer. */
        for (tessera_isa isa = TESSERA_ISA_PORTABLE; isa < info.isa; isa++) {
            char label[48];
            snprintf(label, sizeof label, " isa=%d forced", (int)isa);
            run_reference(n, m, &trained, 0, 0, isa, label, 0);
        }
        test_thread_determinism(n, m, &trained);
        test_shared_model(n, m, &trained);

        /* Outputs this model lacks. */
        tessera_session *s = make_session(m, 1, 0, 0, 1, 0, TESSERA_ISA_AUTO, &st);
        if (check(s != NULL, "%s: session for unavailable-output checks", n)) {
            st = tessera_run_f32(s, trained.pixels, 1);
            check(st == TESSERA_OK, "%s: run 1 image of batch 1 -> %s", n, tessera_status_string(st));
            call c;
            int64_t shape[4];
            float one[1];
            if (info.num_classes == 0) {
                memset(&c, 0, sizeof c);
                c.fn = CALL_SHAPE; c.session = s; c.which = TESSERA_OUTPUT_LOGITS; c.shape = shape;
                char what[512];
                snprintf(what, sizeof what, "%s: output_shape(LOGITS) on a model without classifier", n);
                expect_fail(&c, TESSERA_ERR_UNAVAILABLE, what);
                memset(&c, 0, sizeof c);
                c.fn = CALL_COPY; c.session = s; c.which = TESSERA_OUTPUT_LOGITS; c.dst = one; c.dst_n = 1;
                snprintf(what, sizeof what, "%s: output_copy(LOGITS) on a model without classifier", n);
                expect_fail(&c, TESSERA_ERR_UNAVAILABLE, what);
            }
            if (info.num_register_tokens == 0) {
                memset(&c, 0, sizeof c);
                c.fn = CALL_SHAPE; c.session = s; c.which = TESSERA_OUTPUT_REGISTER_TOKENS; c.shape = shape;
                char what[512];
                snprintf(what, sizeof what, "%s: output_shape(REGISTER_TOKENS) on a model without registers", n);
                expect_fail(&c, TESSERA_ERR_UNAVAILABLE, what);
            }
            tessera_session_free(s);
        }
    }
    ref_free(&trained);

    /* Other sizes the fixture has references for (position embedding resize). */
    for (int i = 0; i < fx->nrefs; i++) {
        if (i == trained_idx) continue;
        reference r;
        if (!check(ref_load(fx->refs[i], &r), "%s: reference %s readable", n, fx->refs[i])) continue;
        run_reference(n, m, &r, r.height, r.width, TESSERA_ISA_AUTO, "", 1);
        ref_free(&r);
    }
    tessera_model_free(m);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

static char g_tmp[512];

static void tmp_path(char *out, size_t cap, const char *rel) { snprintf(out, cap, "%s/%s", g_tmp, rel); }

static int make_dir(const char *rel) {
    char p[1024];
    tmp_path(p, sizeof p, rel);
    return mkdir(p, 0700) == 0 || errno == EEXIST;
}

static int put(const char *rel, const void *data, size_t size) {
    char p[1024];
    tmp_path(p, sizeof p, rel);
    return write_file(p, data, size);
}

static void remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            if (is_dir(p)) remove_tree(p);
            else unlink(p);
        }
        closedir(d);
    }
    rmdir(path);
}

static void expect_load_fail2(const char *path, tessera_status want, tessera_status alt, const char *what) {
    call c;
    memset(&c, 0, sizeof c);
    c.fn = CALL_LOAD;
    c.path = path;
    expect_fail2(&c, want, alt, what);
}

static void test_bad_files(const fixture *fx) {
    char p[1024];
    /* Nonexistent path. */
    tmp_path(p, sizeof p, "does-not-exist");
    expect_load_fail2(p, TESSERA_ERR_IO, -1, "load a nonexistent path");
    tmp_path(p, sizeof p, "does-not-exist/model.safetensors");
    expect_load_fail2(p, TESSERA_ERR_IO, -1, "load a nonexistent .safetensors file");
    expect_load_fail2("", TESSERA_ERR_IO, TESSERA_ERR_INVALID_ARGUMENT, "load the empty path");

    size_t model_size = 0, cfg_size = 0;
    char *model = read_file(fx->model_path, &model_size);
    char *cfg = read_file(fx->config_path, &cfg_size);
    if (!check(model != NULL && cfg != NULL && model_size >= 8, "read %s's files to build broken copies", fx->name)) {
        free(model);
        free(cfg);
        return;
    }

    /* A directory with model.safetensors but no config.json. */
    make_dir("no_config");
    put("no_config/model.safetensors", model, model_size);
    tmp_path(p, sizeof p, "no_config");
    expect_load_fail2(p, TESSERA_ERR_IO, TESSERA_ERR_FORMAT, "load a directory without config.json");

    /* An empty directory. */
    make_dir("empty");
    tmp_path(p, sizeof p, "empty");
    expect_load_fail2(p, TESSERA_ERR_IO, TESSERA_ERR_FORMAT, "load an empty directory");

    /* Config present, no model.safetensors. */
    make_dir("no_weights");
    put("no_weights/config.json", cfg, cfg_size);
    tmp_path(p, sizeof p, "no_weights");
    expect_load_fail2(p, TESSERA_ERR_IO, TESSERA_ERR_FORMAT, "load a directory without model.safetensors");

    /* Malformed JSON: the real config cut in half, and plain garbage. */
    make_dir("bad_json");
    put("bad_json/model.safetensors", model, model_size);
    put("bad_json/config.json", cfg, cfg_size / 2);
    tmp_path(p, sizeof p, "bad_json");
    expect_load_fail2(p, TESSERA_ERR_FORMAT, -1, "load with a truncated config.json");
    make_dir("garbage_json");
    put("garbage_json/model.safetensors", model, model_size);
    const char garbage[] = "{\"model_type\": vit, \"hidden_size\": [}}";
    put("garbage_json/config.json", garbage, sizeof garbage - 1);
    tmp_path(p, sizeof p, "garbage_json");
    expect_load_fail2(p, TESSERA_ERR_FORMAT, -1, "load with a malformed config.json");
    make_dir("empty_json");
    put("empty_json/model.safetensors", model, model_size);
    put("empty_json/config.json", "", 0);
    tmp_path(p, sizeof p, "empty_json");
    expect_load_fail2(p, TESSERA_ERR_FORMAT, -1, "load with an empty config.json");

    /* Truncated safetensors: header intact, data cut in half. */
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (uint8_t)model[i];
    make_dir("truncated");
    put("truncated/config.json", cfg, cfg_size);
    size_t cut = hlen + 8 < model_size ? (size_t)(8 + hlen + (model_size - 8 - hlen) / 2) : model_size / 2;
    put("truncated/model.safetensors", model, cut);
    tmp_path(p, sizeof p, "truncated");
    expect_load_fail2(p, TESSERA_ERR_FORMAT, -1, "load a safetensors file truncated in its data");

    /* Truncated inside the header, and shorter than the length prefix. */
    make_dir("truncated_header");
    put("truncated_header/config.json", cfg, cfg_size);
    put("truncated_header/model.safetensors", model, (size_t)(8 + hlen / 2 < model_size ? 8 + hlen / 2 : 8));
    tmp_path(p, sizeof p, "truncated_header");
    expect_load_fail2(p, TESSERA_ERR_FORMAT, -1, "load a safetensors file truncated in its header");
    make_dir("tiny");
    put("tiny/config.json", cfg, cfg_size);
    put("tiny/model.safetensors", model, 5);
    tmp_path(p, sizeof p, "tiny");
    expect_load_fail2(p, TESSERA_ERR_FORMAT, -1, "load a 5-byte safetensors file");
    make_dir("zero");
    put("zero/config.json", cfg, cfg_size);
    put("zero/model.safetensors", "", 0);
    tmp_path(p, sizeof p, "zero");
    expect_load_fail2(p, TESSERA_ERR_FORMAT, -1, "load an empty safetensors file");

    /* Header length past the end of the file (just past, and huge). */
    char *copy = malloc(model_size);
    if (copy != NULL) {
        memcpy(copy, model, model_size);
        uint64_t past = (uint64_t)model_size; /* 8 + past > size */
        for (int i = 0; i < 8; i++) copy[i] = (char)((past >> (8 * i)) & 0xff);
        make_dir("header_past_end");
        put("header_past_end/config.json", cfg, cfg_size);
        put("header_past_end/model.safetensors", copy, model_size);
        tmp_path(p, sizeof p, "header_past_end");
        expect_load_fail2(p, TESSERA_ERR_FORMAT, -1, "load a safetensors whose header length is past the end");
        for (int i = 0; i < 8; i++) copy[i] = (char)0xff;
        make_dir("header_huge");
        put("header_huge/config.json", cfg, cfg_size);
        put("header_huge/model.safetensors", copy, model_size);
        tmp_path(p, sizeof p, "header_huge");
        expect_load_fail2(p, TESSERA_ERR_FORMAT, -1, "load a safetensors whose header length is 2^64-1");

        /* Garbage in the header JSON, same length. */
        memcpy(copy, model, model_size);
        if (hlen >= 4 && 8 + hlen <= model_size) {
            memset(copy + 8, '{', (size_t)hlen);
            make_dir("header_garbage");
            put("header_garbage/config.json", cfg, cfg_size);
            put("header_garbage/model.safetensors", copy, model_size);
            tmp_path(p, sizeof p, "header_garbage");
            expect_load_fail2(p, TESSERA_ERR_FORMAT, -1, "load a safetensors whose header is not JSON");
        }
        free(copy);
    }

    /* A valid copy loads (so the failures above are about the damage). */
    make_dir("good_copy");
    put("good_copy/config.json", cfg, cfg_size);
    put("good_copy/model.safetensors", model, model_size);
    tmp_path(p, sizeof p, "good_copy");
    tessera_model *m = NULL;
    tessera_status st = tessera_model_load(p, &m);
    check(st == TESSERA_OK && m != NULL, "load an intact copy of %s from the temp dir -> %s %s", fx->name,
          tessera_status_string(st), st == TESSERA_OK ? "" : tessera_last_error());
    tessera_model_free(m);

    free(model);
    free(cfg);
}

static void test_argument_errors(const fixture *fx) {
    tessera_model *m = NULL;
    tessera_status st = tessera_model_load(fx->dir, &m);
    if (!check(st == TESSERA_OK, "errors: load %s -> %s", fx->name, tessera_status_string(st))) return;
    tessera_model_info info;
    get_info(m, &info);
    const int H = info.image_height, W = info.image_width, P = info.patch_size;
    size_t img_floats = (size_t)3 * (size_t)H * (size_t)W;
    float *pixels = calloc(img_floats * 2 + 1, sizeof(float));
    uint8_t *rgb = calloc(img_floats * 2 + 1, 1);
    tessera_session_options opts = tessera_session_default_options();
    tessera_session *s = NULL;
    st = tessera_session_create(m, &opts, &s);
    if (!check(st == TESSERA_OK && s != NULL && pixels != NULL && rgb != NULL, "errors: default session created -> %s",
               tessera_status_string(st))) {
        tessera_model_free(m);
        free(pixels);
        free(rgb);
        return;
    }
    call c;
    int64_t shape[4];
    float dst[4];
    tessera_model_info tinfo;
    memset(&tinfo, 0, sizeof tinfo);
    tinfo.struct_size = sizeof tinfo;
    const int inv = TESSERA_ERR_INVALID_ARGUMENT;

    /* Outputs before any run. */
    memset(&c, 0, sizeof c);
    c.fn = CALL_SHAPE; c.session = s; c.which = TESSERA_OUTPUT_EMBEDDING; c.shape = shape;
    expect_fail(&c, TESSERA_ERR_STATE, "output_shape(EMBEDDING) before any run");
    memset(&c, 0, sizeof c);
    c.fn = CALL_COPY; c.session = s; c.which = TESSERA_OUTPUT_EMBEDDING; c.dst = dst; c.dst_n = 4;
    expect_fail(&c, TESSERA_ERR_STATE, "output_copy(EMBEDDING) before any run");

    /* NULL pointers. */
    memset(&c, 0, sizeof c); c.fn = CALL_LOAD; c.path = NULL;
    expect_fail(&c, inv, "model_load(NULL path)");
    memset(&c, 0, sizeof c); c.fn = CALL_LOAD; c.path = fx->dir; c.null_out = 1;
    expect_fail(&c, inv, "model_load(path, NULL out)");
    memset(&c, 0, sizeof c); c.fn = CALL_INFO; c.model = NULL; c.info = &tinfo;
    expect_fail(&c, inv, "model_get_info(NULL model)");
    memset(&c, 0, sizeof c); c.fn = CALL_INFO; c.model = m; c.info = NULL;
    expect_fail(&c, inv, "model_get_info(model, NULL info)");
    memset(&c, 0, sizeof c); c.fn = CALL_CREATE; c.model = NULL; c.opts = &opts;
    expect_fail(&c, inv, "session_create(NULL model)");
    {
        /* NULL options mean the defaults (documented in the header). */
        tessera_session *d = NULL;
        tessera_status st = tessera_session_create(m, NULL, &d);
        check(st == TESSERA_OK && d != NULL, "session_create(model, NULL options) uses the defaults");
        tessera_session_free(d);
    }
    memset(&c, 0, sizeof c); c.fn = CALL_CREATE; c.model = m; c.opts = &opts; c.null_out = 1;
    expect_fail(&c, inv, "session_create(model, options, NULL out)");
    memset(&c, 0, sizeof c); c.fn = CALL_RUN_F32; c.session = NULL; c.f32 = pixels; c.images = 1;
    expect_fail(&c, inv, "run_f32(NULL session)");
    memset(&c, 0, sizeof c); c.fn = CALL_RUN_F32; c.session = s; c.f32 = NULL; c.images = 1;
    expect_fail(&c, inv, "run_f32(session, NULL pixels)");
    memset(&c, 0, sizeof c); c.fn = CALL_RUN_RGB8; c.session = NULL; c.u8 = rgb; c.images = 1;
    expect_fail(&c, inv, "run_rgb8(NULL session)");
    memset(&c, 0, sizeof c); c.fn = CALL_RUN_RGB8; c.session = s; c.u8 = NULL; c.images = 1;
    expect_fail(&c, inv, "run_rgb8(session, NULL pixels)");
    memset(&c, 0, sizeof c); c.fn = CALL_SHAPE; c.session = NULL; c.which = TESSERA_OUTPUT_EMBEDDING; c.shape = shape;
    expect_fail(&c, inv, "output_shape(NULL session)");
    memset(&c, 0, sizeof c); c.fn = CALL_SHAPE; c.session = s; c.which = TESSERA_OUTPUT_EMBEDDING; c.shape = NULL;
    expect_fail(&c, inv, "output_shape(session, NULL shape)");
    memset(&c, 0, sizeof c); c.fn = CALL_SHAPE; c.session = s; c.which = TESSERA_OUTPUT_EMBEDDING; c.shape = shape; c.null_out = 1;
    expect_fail(&c, inv, "output_shape(session, shape, NULL rank)");
    memset(&c, 0, sizeof c); c.fn = CALL_COPY; c.session = NULL; c.which = TESSERA_OUTPUT_EMBEDDING; c.dst = dst; c.dst_n = 4;
    expect_fail(&c, inv, "output_copy(NULL session)");
    memset(&c, 0, sizeof c); c.fn = CALL_COPY; c.session = s; c.which = TESSERA_OUTPUT_EMBEDDING; c.dst = NULL; c.dst_n = 4;
    expect_fail(&c, inv, "output_copy(session, NULL dst)");
    check(tessera_model_label(NULL, 0) == NULL, "model_label(NULL, 0) is NULL");
    check(tessera_session_arena_bytes(NULL) == 0, "session_arena_bytes(NULL) == 0");

    /* struct_size. */
    memset(&c, 0, sizeof c); c.fn = CALL_INFO; c.model = m; c.info = &tinfo;
    tinfo.struct_size = 0;
    expect_fail(&c, inv, "model_get_info with info.struct_size 0");
    tinfo.struct_size = sizeof tinfo;
    tessera_session_options o;
    o = tessera_session_default_options(); o.struct_size = 0;
    memset(&c, 0, sizeof c); c.fn = CALL_CREATE; c.model = m; c.opts = &o;
    expect_fail(&c, inv, "session_create with options.struct_size 0");
    o = tessera_session_default_options(); o.struct_size = sizeof(size_t);
    expect_fail(&c, inv, "session_create with options.struct_size 8 (too small)");
    o = tessera_session_default_options(); o.struct_size = (size_t)1 << 40;
    expect_fail(&c, inv, "session_create with options.struct_size 2^40");
    /* An older caller's shorter struct: the fields past its size take their
     * defaults, whatever lies there. */
    o = tessera_session_default_options(); o.struct_size = offsetof(tessera_session_options, layers_mask);
    o.layers_mask = ~(uint64_t)0; o.isa = 99; o.max_arena_bytes = 1;
    {
        tessera_session *s = NULL;
        tessera_status st = tessera_session_create(m, &o, &s);
        check(st == TESSERA_OK && s != NULL,
              "session_create with struct_size %zu (up to num_threads) -> %s; the fields beyond take their defaults",
              o.struct_size, tessera_status_string(st));
        tessera_session_free(s);
    }
    /* A newer caller's longer struct: accepted while the unknown tail is zero. */
    {
        _Alignas(8) unsigned char longer[sizeof(tessera_session_options) + 16];
        memset(longer, 0, sizeof longer);
        tessera_session_options d = tessera_session_default_options();
        d.struct_size = sizeof longer;
        memcpy(longer, &d, sizeof d);
        tessera_session *s = NULL;
        tessera_status st = tessera_session_create(m, (const tessera_session_options *)longer, &s);
        check(st == TESSERA_OK && s != NULL, "session_create with a longer struct, zero tail -> %s",
              tessera_status_string(st));
        tessera_session_free(s);
        longer[sizeof d + 3] = 1;
        s = NULL;
        st = tessera_session_create(m, (const tessera_session_options *)longer, &s);
        check(st == TESSERA_ERR_UNSUPPORTED && s == NULL,
              "session_create with a longer struct, a tail byte set -> %s (want unsupported); message: \"%s\"",
              tessera_status_string(st), tessera_last_error());
    }

    /* Sizes and options. */
    char what[200];
    o = tessera_session_default_options(); o.height = H + 1; o.width = W;
    snprintf(what, sizeof what, "session_create height %d (not a multiple of patch %d)", H + 1, P);
    expect_fail(&c, inv, what);
    o = tessera_session_default_options(); o.height = H; o.width = W + P / 2 + (P == 1);
    snprintf(what, sizeof what, "session_create width %d (not a multiple of patch %d)", (int)o.width, P);
    if (P > 1) expect_fail(&c, inv, what);
    o = tessera_session_default_options(); o.height = -P; o.width = W;
    expect_fail(&c, inv, "session_create negative height");
    o = tessera_session_default_options(); o.batch = 0;
    expect_fail(&c, inv, "session_create batch 0");
    o = tessera_session_default_options(); o.batch = -1;
    expect_fail(&c, inv, "session_create batch -1");
    o = tessera_session_default_options(); o.num_threads = -1;
    expect_fail(&c, inv, "session_create num_threads -1");
    o = tessera_session_default_options(); o.isa = 99;
    expect_fail(&c, inv, "session_create isa 99");
    o = tessera_session_default_options(); o.isa = -1;
    expect_fail(&c, inv, "session_create isa -1");
    /* A variant above the CPU's is refused, never run (no illegal instruction).
     * Under TESSERA_ISA the default variant may be below the CPU's best. */
    if (info.isa < TESSERA_ISA_AVX512 && getenv("TESSERA_ISA") == NULL) {
        o = tessera_session_default_options(); o.isa = info.isa + 1;
        snprintf(what, sizeof what, "session_create isa %d above this CPU's %d (%s)", (int)o.isa, (int)info.isa,
                 info.isa_name);
        expect_fail2(&c, TESSERA_ERR_UNSUPPORTED, inv, what);
    }
    if (info.num_layers < 64) {
        o = tessera_session_default_options(); o.layers_mask = (uint64_t)1 << info.num_layers;
        snprintf(what, sizeof what, "session_create layers_mask bit %d (model has %d layers)", (int)info.num_layers,
                 (int)info.num_layers);
        expect_fail(&c, inv, what);
    }
    o = tessera_session_default_options(); o.layers_mask = (uint64_t)1 << 63;
    if (info.num_layers < 64) expect_fail(&c, inv, "session_create layers_mask bit 63");
    o = tessera_session_default_options(); o.max_arena_bytes = 1;
    expect_fail(&c, TESSERA_ERR_OUT_OF_MEMORY, "session_create max_arena_bytes 1 (cap hit)");

    /* The arena cap at exactly the needed size succeeds. */
    size_t need = tessera_session_arena_bytes(s);
    o = tessera_session_default_options(); o.max_arena_bytes = need;
    tessera_session *capped = NULL;
    st = tessera_session_create(m, &o, &capped);
    check(st == TESSERA_OK && capped != NULL && tessera_session_arena_bytes(capped) <= need,
          "session_create max_arena_bytes == arena_bytes %zu -> %s", need, tessera_status_string(st));
    tessera_session_free(capped);

    /* Image counts. */
    memset(&c, 0, sizeof c); c.fn = CALL_RUN_F32; c.session = s; c.f32 = pixels; c.images = 0;
    expect_fail(&c, inv, "run_f32 images 0");
    c.images = 2;
    expect_fail(&c, inv, "run_f32 images 2 > batch 1");
    c.images = (size_t)-1;
    expect_fail(&c, inv, "run_f32 images SIZE_MAX");
    memset(&c, 0, sizeof c); c.fn = CALL_RUN_RGB8; c.session = s; c.u8 = rgb; c.images = 0;
    expect_fail(&c, inv, "run_rgb8 images 0");
    c.images = 2;
    expect_fail(&c, inv, "run_rgb8 images 2 > batch 1");

    /* A failed run is still "no run": outputs remain unreadable. */
    memset(&c, 0, sizeof c); c.fn = CALL_SHAPE; c.session = s; c.which = TESSERA_OUTPUT_EMBEDDING; c.shape = shape;
    expect_fail(&c, TESSERA_ERR_STATE, "output_shape(EMBEDDING) after only failed runs");

    /* After a run. */
    st = tessera_run_rgb8(s, rgb, 1);
    check(st == TESSERA_OK, "run_rgb8 of a black image -> %s", tessera_status_string(st));
    int32_t rank = 0;
    st = tessera_output_shape(s, TESSERA_OUTPUT_EMBEDDING, shape, &rank);
    check(st == TESSERA_OK && rank == 2 && shape[0] == 1 && shape[1] == info.hidden_size && shape[2] == 1 && shape[3] == 1,
          "output_shape(EMBEDDING) = rank %d [%lld,%lld,%lld,%lld], want 2 [1,%d,1,1]", (int)rank, (long long)shape[0],
          (long long)shape[1], (long long)shape[2], (long long)shape[3], (int)info.hidden_size);
    int32_t np = (H / P) * (W / P);
    st = tessera_output_shape(s, TESSERA_OUTPUT_PATCH_TOKENS, shape, &rank);
    check(st == TESSERA_OK && rank == 3 && shape[0] == 1 && shape[1] == np && shape[2] == info.hidden_size && shape[3] == 1,
          "output_shape(PATCH_TOKENS) = rank %d [%lld,%lld,%lld,%lld], want 3 [1,%d,%d,1]", (int)rank, (long long)shape[0],
          (long long)shape[1], (long long)shape[2], (long long)shape[3], (int)np, (int)info.hidden_size);
    size_t d = (size_t)info.hidden_size;
    float *emb = malloc((d + 8) * sizeof(float));
    memset(&c, 0, sizeof c); c.fn = CALL_COPY; c.session = s; c.which = TESSERA_OUTPUT_EMBEDDING; c.dst = emb; c.dst_n = d - 1;
    expect_fail(&c, inv, "output_copy with dst_floats one short");
    c.dst_n = 0;
    expect_fail(&c, inv, "output_copy with dst_floats 0");
    for (size_t i = 0; i < d + 8; i++) emb[i] = -12345.0f;
    st = tessera_output_copy(s, TESSERA_OUTPUT_EMBEDDING, emb, d + 8);
    int tail_ok = 1;
    for (size_t i = d; i < d + 8; i++) tail_ok &= emb[i] == -12345.0f;
    check(st == TESSERA_OK && tail_ok, "output_copy with a larger dst -> %s, writes only %zu floats",
          tessera_status_string(st), d);
    free(emb);

    /* Layer outputs: not requested, and beyond the model. */
    memset(&c, 0, sizeof c); c.fn = CALL_SHAPE; c.session = s; c.which = TESSERA_OUTPUT_LAYER(0); c.shape = shape;
    expect_fail(&c, TESSERA_ERR_UNAVAILABLE, "output_shape(LAYER(0)) not requested in layers_mask");
    c.which = TESSERA_OUTPUT_LAYER(info.num_layers);
    snprintf(what, sizeof what, "output_shape(LAYER(%d)) beyond the model's %d layers", (int)info.num_layers,
             (int)info.num_layers);
    expect_fail2(&c, TESSERA_ERR_UNAVAILABLE, inv, what);
    c.which = TESSERA_OUTPUT_LAYER(100000);
    expect_fail2(&c, TESSERA_ERR_UNAVAILABLE, inv, "output_shape(LAYER(100000))");
    c.which = 42;
    expect_fail2(&c, TESSERA_ERR_UNAVAILABLE, inv, "output_shape(42) (no such output)");
    c.which = -1;
    expect_fail2(&c, TESSERA_ERR_UNAVAILABLE, inv, "output_shape(-1) (no such output)");
    memset(&c, 0, sizeof c); c.fn = CALL_COPY; c.session = s; c.which = TESSERA_OUTPUT_LAYER(info.num_layers); c.dst = dst; c.dst_n = 4;
    expect_fail2(&c, TESSERA_ERR_UNAVAILABLE, inv, "output_copy(LAYER(num_layers))");

    /* A session that kept layer 0 has it, and lacks layer 1 unless asked. */
    if (info.num_layers >= 2) {
        o = tessera_session_default_options(); o.layers_mask = 1;
        tessera_session *ls = NULL;
        st = tessera_session_create(m, &o, &ls);
        if (check(st == TESSERA_OK, "session_create layers_mask 1 -> %s", tessera_status_string(st))) {
            st = tessera_run_f32(ls, pixels, 1);
            check(st == TESSERA_OK, "run_f32 of zeros on it -> %s", tessera_status_string(st));
            st = tessera_output_shape(ls, TESSERA_OUTPUT_LAYER(0), shape, &rank);
            check(st == TESSERA_OK && rank == 3 && shape[1] == np + info.num_prefix_tokens && shape[2] == info.hidden_size,
                  "output_shape(LAYER(0)) = rank %d [%lld,%lld,%lld], want 3 [1,%d,%d]", (int)rank, (long long)shape[0],
                  (long long)shape[1], (long long)shape[2], (int)(np + info.num_prefix_tokens), (int)info.hidden_size);
            memset(&c, 0, sizeof c); c.fn = CALL_SHAPE; c.session = ls; c.which = TESSERA_OUTPUT_LAYER(1); c.shape = shape;
            expect_fail(&c, TESSERA_ERR_UNAVAILABLE, "output_shape(LAYER(1)) with layers_mask 1");
        }
        tessera_session_free(ls);
    }

    /* Freeing NULL handles is a no-op. */
    tessera_model_free(NULL);
    tessera_session_free(NULL);
    check(1, "tessera_model_free(NULL) and tessera_session_free(NULL) return");

    tessera_session_free(s);
    tessera_model_free(m);
    free(pixels);
    free(rgb);
}

/* ------------------------------------------------------------------------ */
/* last_error is per thread                                                  */

typedef struct {
    char seen_before[256];
    int before_null;
    tessera_status status;
    char seen_after[1024];
} err_job;

static void *err_quiet_thread(void *arg) {
    err_job *j = arg;
    const char *e = tessera_last_error();
    j->before_null = e == NULL;
    snprintf(j->seen_before, sizeof j->seen_before, "%s", e != NULL ? e : "");
    return NULL;
}

static void *err_failing_thread(void *arg) {
    err_job *j = arg;
    tessera_model *m = NULL;
    j->status = tessera_model_load("/nonexistent/tessera/model/dir", &m);
    tessera_model_free(m);
    const char *e = tessera_last_error();
    snprintf(j->seen_after, sizeof j->seen_after, "%s", e != NULL ? e : "");
    return NULL;
}

static void test_last_error_threads(void) {
    tessera_status st = tessera_run_f32(NULL, NULL, 1);
    check(st == TESSERA_ERR_INVALID_ARGUMENT, "main thread: run_f32(NULL, NULL, 1) -> %s", tessera_status_string(st));
    char mine[1024];
    const char *e = tessera_last_error();
    snprintf(mine, sizeof mine, "%s", e != NULL ? e : "");
    check(mine[0] != '\0', "main thread: last_error \"%s\" set", mine);

    err_job q;
    memset(&q, 0, sizeof q);
    pthread_t t;
    pthread_create(&t, NULL, err_quiet_thread, &q);
    pthread_join(t, NULL);
    check(!q.before_null && q.seen_before[0] == '\0',
          "a thread that never failed sees last_error \"\" (got %s\"%s\")", q.before_null ? "NULL " : "", q.seen_before);

    err_job f;
    memset(&f, 0, sizeof f);
    pthread_create(&t, NULL, err_failing_thread, &f);
    pthread_join(t, NULL);
    check(f.status == TESSERA_ERR_IO && f.seen_after[0] != '\0' && strcmp(f.seen_after, mine) != 0,
          "another thread's failure (%s) has its own message \"%s\"", tessera_status_string(f.status), f.seen_after);
    e = tessera_last_error();
    check(e != NULL && strcmp(e, mine) == 0, "main thread's last_error unchanged by the other thread (\"%s\")", safe_str(e));

    /* A successful call does not clear or change it. */
    const char *v = tessera_version();
    (void)v;
    tessera_session_options o = tessera_session_default_options();
    (void)o;
    e = tessera_last_error();
    check(e != NULL && strcmp(e, mine) == 0, "last_error still valid after successful calls");
}

/* ------------------------------------------------------------------------ */
/* Cycles                                                                    */

static void test_cycles(const fixture *fx) {
    int cycles = 100;
    const char *env = getenv("TESSERA_TEST_CYCLES");
    if (env != NULL && atoi(env) > 0) cycles = atoi(env);
    reference r;
    memset(&r, 0, sizeof r);
    tessera_model *m = NULL;
    tessera_model_info info;
    if (tessera_model_load(fx->dir, &m) != TESSERA_OK || !get_info(m, &info)) {
        check(0, "cycles: load %s: %s", fx->name, tessera_last_error());
        tessera_model_free(m);
        return;
    }
    for (int i = 0; i < fx->nrefs; i++)
        if (fx->ref_h[i] == info.image_height && fx->ref_w[i] == info.image_width) ref_load(fx->refs[i], &r);
    tessera_model_free(m);
    if (!check(r.ok, "cycles: reference input for %s", fx->name)) return;

    int failures = 0, mismatches = 0;
    float *first = NULL;
    size_t first_n = 0;
    tessera_status last_bad = TESSERA_OK;
    for (int i = 0; i < cycles; i++) {
        tessera_model *cm = NULL;
        tessera_session *cs = NULL;
        tessera_status st = tessera_model_load(fx->dir, &cm);
        if (st == TESSERA_OK) {
            tessera_session_options o = tessera_session_default_options();
            o.batch = r.batch;
            o.layers_mask = (i % 2) ? ref_layers_mask(&r) : 0;
            st = tessera_session_create(cm, &o, &cs);
        }
        if (st == TESSERA_OK) st = (i % 2) ? tessera_run_rgb8(cs, r.rgb8, (size_t)r.batch)
                                           : tessera_run_f32(cs, r.pixels, (size_t)r.batch);
        if (st == TESSERA_OK) {
            int64_t shape[4];
            int32_t rank;
            size_t n = 0;
            float *emb = fetch_output(cs, TESSERA_OUTPUT_EMBEDDING, shape, &rank, &n, &st);
            if (emb != NULL) {
                if (first == NULL) {
                    first = emb;
                    first_n = n;
                    emb = NULL;
                } else {
                    cmp_result c = compare(emb, first, n < first_n ? n : first_n);
                    if (n != first_n || c.max_abs > MAX_ABS_TOL) mismatches++;
                }
                free(emb);
            }
        }
        if (st != TESSERA_OK) {
            failures++;
            last_bad = st;
        }
        tessera_session_free(cs);
        tessera_model_free(cm);
    }
    free(first);
    check(failures == 0, "%d load/create/run/free cycles on %s: %d failed%s%s", cycles, fx->name, failures,
          failures ? ", last: " : "", failures ? tessera_status_string(last_bad) : "");
    check(mismatches == 0, "%d cycles gave the same embedding (%d differed)", cycles, mismatches);
    ref_free(&r);
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    test_version();
    test_status_strings();
    test_default_options();
    test_last_error_threads();

    find_fixtures(argv[1]);
    check(g_nfix > 0, "found %d model fixture(s) in %s", g_nfix, argv[1]);
    for (int i = 0; i < g_nfix; i++) g_loaded[i] = test_fixture(&g_fix[i]);

    /* The smallest model that loads, for the error checks and the cycles. */
    int small = -1;
    for (int i = 0; i < g_nfix; i++)
        if (g_loaded[i] && (small < 0 || g_fix[i].model_bytes < g_fix[small].model_bytes)) small = i;
    check(g_nfix == 0 || small >= 0, "at least one fixture loads (for the error and cycle checks)");
    if (small >= 0) {
        note("error and cycle checks use %s", g_fix[small].name);
        snprintf(g_tmp, sizeof g_tmp, "%s/tessera-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (check(mkdtemp(g_tmp) != NULL, "temp dir %s", g_tmp)) {
            test_bad_files(&g_fix[small]);
            remove_tree(g_tmp);
        }
        test_argument_errors(&g_fix[small]);
        test_cycles(&g_fix[small]);
    }

    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed > 0 ? 1 : 0;
}
