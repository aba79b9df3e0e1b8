/*
 * tessera.h — the C interface of Tessera, an inference runtime for Vision
 * Transformers (ViT, DeiT, DINOv2, DINOv3).
 *
 * Rules that hold for every function:
 *  - A fallible call returns tessera_status; TESSERA_OK (0) is success.
 *    Results are written through the out-parameters, which come last.
 *  - On failure, tessera_last_error() returns a message saying what was wrong
 *    and what was expected. It is thread-local and stays valid until the next
 *    failing call on the same thread.
 *  - Bad input (NULL pointers, bad sizes, hostile files) is reported, never
 *    trapped on.
 *  - A tessera_model is immutable once loaded and may be shared by any number
 *    of threads. A tessera_session is used by one thread at a time; a second
 *    concurrent run on the same session returns TESSERA_ERR_BUSY.
 *  - Structs that carry struct_size grow only at their end, so that a
 *    program built against an older tessera.h keeps working with a newer
 *    library, and the other way round:
 *      - options a caller passes in (tessera_session_options) come from
 *        tessera_session_options_init() (or the older
 *        tessera_session_default_options()) or are zeroed with struct_size
 *        set. Any
 *        struct_size from the end of the first field after struct_size up to
 *        65536 is accepted: fields past (or cut by) the caller's struct_size
 *        take their defaults, and a longer struct (a newer header) is
 *        accepted when its
 *        fields this library does not know are zero (else
 *        TESSERA_ERR_UNSUPPORTED, since it asks for something the library
 *        cannot do).
 *      - info structs the library fills (tessera_model_info,
 *        tessera_session_info) are filled up to min(struct_size, the
 *        library's size); struct_size is then set to the bytes written, and
 *        fields beyond it are left untouched.
 */
#ifndef TESSERA_H
#define TESSERA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TESSERA_VERSION_MAJOR 0
#define TESSERA_VERSION_MINOR 3
#define TESSERA_VERSION_PATCH 0
#define TESSERA_VERSION_STRING "0.3.0"

typedef int32_t tessera_status;
#define TESSERA_OK                    0
#define TESSERA_ERR_INVALID_ARGUMENT  1  /* a NULL pointer, a bad size or option */
#define TESSERA_ERR_IO                2  /* a file could not be opened or read */
#define TESSERA_ERR_FORMAT            3  /* a file is malformed or inconsistent */
#define TESSERA_ERR_UNSUPPORTED       4  /* a valid model Tessera cannot run */
#define TESSERA_ERR_UNAVAILABLE       5  /* an output the model or session lacks */
#define TESSERA_ERR_OUT_OF_MEMORY     6  /* an allocation failed or a cap was hit */
#define TESSERA_ERR_BUSY              7  /* the session is running on another thread */
#define TESSERA_ERR_STATE             8  /* e.g. an output read before any run */
#define TESSERA_ERR_INTERNAL          9

/* Model families. */
typedef int32_t tessera_family;
#define TESSERA_FAMILY_VIT     1
#define TESSERA_FAMILY_DEIT    2
#define TESSERA_FAMILY_DINOV2  3
#define TESSERA_FAMILY_DINOV3  4

/* How the position embedding is resized to a patch grid other than the
 * trained one; each family's reference does it differently. */
typedef int32_t tessera_pos_resize;
#define TESSERA_POS_RESIZE_BICUBIC            1 /* size=, a = -0.75, no antialias (HF ViT/DeiT/Dinov2Model) */
#define TESSERA_POS_RESIZE_BICUBIC_ANTIALIAS  2 /* size=, a = -0.5, antialias (timm, HF Dinov2 with registers) */
#define TESSERA_POS_RESIZE_BICUBIC_OFFSET     3 /* scale_factor=(n+0.1)/M, a = -0.75 (original DINOv2 hub) */
#define TESSERA_POS_RESIZE_NONE_ROPE          4 /* no position table: 2-D RoPE over any grid, nothing resized (DINOv3) */

/* Kernel variants (instruction sets). */
typedef int32_t tessera_isa;
#define TESSERA_ISA_AUTO      0
#define TESSERA_ISA_PORTABLE  1  /* baseline x86-64 (SSE2) */
#define TESSERA_ISA_AVX2      2  /* AVX2 + FMA */
#define TESSERA_ISA_AVX512    3  /* AVX-512 F/BW/VL */

/* Arithmetic of a session (tessera_session_options.precision). */
typedef int32_t tessera_precision;
#define TESSERA_PRECISION_FP32  0 /* everything in fp32, as the reference implementations */
#define TESSERA_PRECISION_INT8  1 /* every block's qkv, proj, fc1 and fc2 in int8: weights
                                     symmetric per output channel (made once per model, from
                                     its fp32 weights, at its first int8 session), activations
                                     asymmetric per token, quantized at run time; sums in
                                     int32, dequantized in the GEMM epilogue. qkv's and
                                     fc1's input channels are smoothed, by factors taken
                                     from their norm's weights (README, "int8"). Attention,
                                     norms, the patch embedding and the heads stay fp32. The
                                     int8 kernel is chosen by CPU feature (AVX-512 VNNI,
                                     AVX-VNNI, AVX2, baseline); tessera_session_info names it.
                                     Accuracy against fp32: README, "int8". */

/* Outputs. */
typedef int32_t tessera_output;
#define TESSERA_OUTPUT_LOGITS           0 /* [B, classes]; DeiT distilled: mean of both heads */
#define TESSERA_OUTPUT_EMBEDDING        1 /* [B, D]: CLS after the final norm */
#define TESSERA_OUTPUT_PATCH_TOKENS     2 /* [B, Hp*Wp, D] after the final norm, row-major grid */
#define TESSERA_OUTPUT_REGISTER_TOKENS  3 /* [B, R, D] after the final norm */
#define TESSERA_OUTPUT_LAYER_BASE     256
/* [B, T, D]: all tokens as block k (0-based) outputs them, before the final
 * norm (Hugging Face hidden_states[k + 1]); request k in layers_mask. */
#define TESSERA_OUTPUT_LAYER(k) (TESSERA_OUTPUT_LAYER_BASE + (k))

/* Which final outputs a session computes (tessera_session_options.outputs).
 * 0, the default, means every final output the model has. Otherwise set
 * TESSERA_OUTPUTS_EXPLICIT and one TESSERA_OUTPUT_BIT per wanted output
 * (LOGITS ... REGISTER_TOKENS); TESSERA_OUTPUTS_EXPLICIT alone asks for none,
 * so that only the blocks in layers_mask are kept. A session runs blocks only
 * up to the last one anything needs, and the final norm and heads only when
 * a final output is wanted: asking for block 5 of 12 alone costs 6 blocks.
 * When no patch tokens are asked for (only logits, the embedding and/or the
 * register tokens) and the last block is not in layers_mask, the last block
 * runs attention for the prefix tokens' queries alone, then its MLP and the
 * final norm on those rows: the same bits, about 1/L of the work less for L
 * blocks. Reading an output that was not asked for is TESSERA_ERR_UNAVAILABLE. */
#define TESSERA_OUTPUT_BIT(which) (1u << (which))
#define TESSERA_OUTPUTS_EXPLICIT  (1u << 31)

/* How tessera_preprocess_rgb8 brings a photo of any size to a session's
 * input. Every resize is Pillow's Image.resize (antialiased, reducing_gap
 * None), byte for byte. */
typedef int32_t tessera_resize;
#define TESSERA_RESIZE_STRETCH     1 /* the whole image to the session's height x width (aspect not kept) */
#define TESSERA_RESIZE_COVER_CROP  2 /* the shorter side to cover the session's size, then the centre */
#define TESSERA_RESIZE_MODEL       3 /* the model's own pipeline: preprocessor_config.json (size: shortest_edge
                                        or height/width, resample, do_center_crop + crop_size, as transformers'
                                        image processors), or timm's pretrained_cfg (crop_pct, interpolation);
                                        it must end at the session's size (else TESSERA_ERR_INVALID_ARGUMENT);
                                        a model with neither is stretched */
typedef int32_t tessera_resample;
#define TESSERA_RESAMPLE_DEFAULT   0 /* bicubic; the model's own for TESSERA_RESIZE_MODEL */
#define TESSERA_RESAMPLE_BICUBIC   1 /* Pillow BICUBIC (Keys a = -0.5) */
#define TESSERA_RESAMPLE_BILINEAR  2 /* Pillow BILINEAR */

typedef struct tessera_model tessera_model;
typedef struct tessera_session tessera_session;

typedef struct tessera_model_info {
    size_t struct_size;          /* set by the caller: sizeof(tessera_model_info) */
    tessera_family family;
    int32_t hidden_size;
    int32_t num_layers;
    int32_t num_heads;
    int32_t mlp_size;
    int32_t patch_size;
    int32_t image_height;        /* the trained input size */
    int32_t image_width;
    int32_t num_channels;
    int32_t num_classes;         /* 0: no classifier head */
    int32_t num_register_tokens;
    int32_t num_prefix_tokens;   /* CLS + distillation + registers */
    tessera_pos_resize pos_resize;
    tessera_isa isa;             /* kernel variant chosen on this CPU */
    float image_mean[3];
    float image_std[3];
    int64_t num_parameters;
    size_t weight_bytes;         /* fp32 weights as held in memory */
    size_t l1d_bytes;            /* cache sizes used for blocking */
    size_t l2_bytes;
    char isa_name[16];
    char architecture[64];       /* e.g. "Dinov2Model", "vit_base_patch16_224" */
    /* GEMM blocking that sessions of this model use with the variant above:
     * K-block depth and rows per block, timed on this CPU on the model's own
     * shapes when first needed and cached per user (TESSERA_BLOCKING=formula
     * or KC,MC overrides). blocking_source: "tuned", "cached", "formula" or
     * "environment". Absent when struct_size ends before them. */
    int32_t gemm_kc;
    int32_t gemm_mc;
    char blocking_source[16];
    /* Added in 0.3.0: the int8 kernel a TESSERA_PRECISION_INT8 session of
     * this model would run on this CPU, e.g. "avx512-vnni 12x32". */
    char int8_kernel[32];
} tessera_model_info;

typedef struct tessera_session_options {
    size_t struct_size;          /* sizeof(tessera_session_options) */
    int32_t batch;               /* images per run, >= 1; default 1 */
    int32_t height;              /* multiples of the patch size; 0 = trained size */
    int32_t width;
    int32_t num_threads;         /* 0 = the cores the process may use */
    uint64_t layers_mask;        /* bit k: keep block k's output (TESSERA_OUTPUT_LAYER(k)) */
    size_t max_arena_bytes;      /* 0 = no cap; otherwise creation fails beyond it */
    tessera_isa isa;             /* TESSERA_ISA_AUTO or a lower variant to force */
    /* Added in 0.2.0 where 0.1.0 had padding, so that the first 48 bytes
     * are the 0.1.0 struct. A 0.1.0 caller's struct, from
     * tessera_session_default_options or zeroed as the rules above ask,
     * has 0 here: every final output. */
    uint32_t outputs;            /* 0 = every final output; see TESSERA_OUTPUTS_EXPLICIT */
    /* Added in 0.3.0, after byte 48. */
    tessera_precision precision; /* TESSERA_PRECISION_FP32 (0, the default) or _INT8 */
    int32_t reserved;            /* 0 */
} tessera_session_options;

/* The first 48 bytes of tessera_session_options: what
 * tessera_session_default_options returns by value to programs built against
 * 0.1 and 0.2 (a by-value struct cannot grow without overrunning their
 * copy). */
typedef struct tessera_session_options_48 {
    size_t struct_size;
    int32_t batch;
    int32_t height;
    int32_t width;
    int32_t num_threads;
    uint64_t layers_mask;
    size_t max_arena_bytes;
    tessera_isa isa;
    uint32_t outputs;
} tessera_session_options_48;

/* What a session really runs, from tessera_session_get_info. */
typedef struct tessera_session_info {
    size_t struct_size;          /* set by the caller: sizeof(tessera_session_info) */
    int32_t batch;
    int32_t height;
    int32_t width;
    int32_t num_threads;         /* threads each run uses (the request resolved) */
    tessera_isa isa;             /* kernel variant in use */
    char isa_name[16];           /* its name, e.g. "avx512" */
    int32_t gemm_kc;             /* GEMM blocking in use (see tessera_model_info) */
    int32_t gemm_mc;
    char blocking_source[16];
    size_t arena_bytes;          /* the activation arena */
    uint32_t outputs;            /* TESSERA_OUTPUT_BIT of each final output computed */
    uint64_t layers_mask;        /* blocks whose outputs are kept */
    int32_t blocks_run;          /* transformer blocks each run executes */
    int32_t num_layers;          /* blocks the model has */
    int32_t num_tokens;          /* tokens per image */
    int32_t num_ops;             /* steps of the session's plan */
    /* Added in 0.3.0. */
    tessera_precision precision; /* what the blocks' Linear layers run in */
    char int8_kernel[32];        /* the int8 tile, e.g. "avx512-vnni 12x32"; "" for fp32 */
    size_t int8_weight_bytes;    /* the model's int8 weights (made at its first int8 session) */
} tessera_session_info;

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *tessera_version(void);

/* The message of the last failing call on this thread ("" if none). */
const char *tessera_last_error(void);

/* Human-readable name of a status code. */
const char *tessera_status_string(tessera_status status);

/* Loads a model directory (config.json + model.safetensors) or a
 * .safetensors file with config.json beside it. */
tessera_status tessera_model_load(const char *path, tessera_model **out_model);
void tessera_model_free(tessera_model *model);
tessera_status tessera_model_get_info(const tessera_model *model,
                                      tessera_model_info *out_info);
/* Class label i from config.json's id2label, or NULL. Valid while the model lives. */
const char *tessera_model_label(const tessera_model *model, int32_t index);

/* Fills *options with the defaults (batch 1, the trained size, every core,
 * every final output, fp32) for a struct of struct_size bytes, which is
 * sizeof(tessera_session_options) of the caller's header; sets struct_size. */
tessera_status tessera_session_options_init(tessera_session_options *options, size_t struct_size);

/* The defaults by value. Built against this header, the call is the inline
 * function below (tessera_session_options_init). The library's symbol of
 * this name keeps returning the 48-byte 0.1/0.2 struct, for programs built
 * against those headers. */
tessera_session_options_48 tessera_session_default_options(void);
static inline tessera_session_options tessera_session_default_options_current(void) {
    tessera_session_options o;
    tessera_session_options_init(&o, sizeof o);
    return o;
}
#define tessera_session_default_options() tessera_session_default_options_current()
/* options may be NULL for the defaults. */
tessera_status tessera_session_create(const tessera_model *model,
                                      const tessera_session_options *options,
                                      tessera_session **out_session);
void tessera_session_free(tessera_session *session);
/* Bytes of the session's activation arena (0 for NULL). */
size_t tessera_session_arena_bytes(const tessera_session *session);
/* What the session runs: variant, threads, blocking, arena, outputs. */
tessera_status tessera_session_get_info(const tessera_session *session,
                                        tessera_session_info *out_info);

/* Runs `images` (1..batch) images given as normalized float NCHW,
 * images x 3 x height x width floats.
 * Values are not checked: a NaN or infinity makes every output of that image NaN. */
tessera_status tessera_run_f32(tessera_session *session, const float *nchw,
                               size_t images);
/* Runs images given as uint8 RGB NHWC (images x height x width x 3),
 * normalized with the model's mean and std. */
tessera_status tessera_run_rgb8(tessera_session *session, const uint8_t *nhwc,
                                size_t images);

/* Brings one RGB8 image of any size (height x width x 3 bytes, rows
 * `stride` bytes apart; stride 0 means width * 3) to the session's input:
 * writes the session's height x width x 3 bytes to `out` (out_bytes at
 * least that), ready for tessera_run_rgb8. Allocates scratch; call it
 * outside any timed loop. The CLI reads its images through it. */
tessera_status tessera_preprocess_rgb8(const tessera_session *session, const uint8_t *rgb,
                                       size_t height, size_t width, size_t stride,
                                       tessera_resize mode, tessera_resample resample,
                                       uint8_t *out, size_t out_bytes);

/* Shape of an output of the last run: rank 2 or 3, unused dims set to 1. */
tessera_status tessera_output_shape(const tessera_session *session,
                                    tessera_output which, int64_t shape[4],
                                    int32_t *out_rank);
/* Copies an output of the last run; dst_floats must be at least its size. */
tessera_status tessera_output_copy(const tessera_session *session,
                                   tessera_output which, float *dst,
                                   size_t dst_floats);
/* An output of the last run without a copy: *out_data points into the
 * session's own memory, element [i][j][k] at out_data[i*strides[0] +
 * j*strides[1] + k*strides[2]] (strides in floats; unused dims have shape 1
 * and stride 0). The pointer is borrowed: it is valid until the next
 * tessera_run_* call on this session (whatever its result) or the session's
 * free, and must not be written through. */
tessera_status tessera_output_view(const tessera_session *session,
                                   tessera_output which, const float **out_data,
                                   int64_t shape[4], int64_t strides[4],
                                   int32_t *out_rank);

#ifdef __cplusplus
}
#endif
#endif /* TESSERA_H */
