/*
 * imageio.c — PNG and JPEG decoding to 8-bit RGB, PNG/JPEG encoding, for the
 * Tessera CLI. See include/tessera_imageio.h for the conversion rules.
 *
 * No decoder is hand-written: PNG goes through libpng's simplified png_image
 * API, JPEG through libjpeg-turbo with an error manager that longjmps back
 * here instead of exiting the process.
 */
#include "tessera_imageio.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <png.h>
#include <jpeglib.h>
#include <jerror.h>

#define HIDDEN TSR_IMAGEIO_HIDDEN

/* Files larger than this are refused before reading (1 GiB). */
#define TSR_MAX_FILE_BYTES (1ULL << 30)

static void set_error(char *err, size_t err_size, const char *fmt, ...) {
    if (err == NULL || err_size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

HIDDEN int tsr_image_sniff(const uint8_t *data, size_t size) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (data == NULL) return TSR_IMAGE_FORMAT_UNKNOWN;
    if (size >= 8 && memcmp(data, png_sig, 8) == 0) return TSR_IMAGE_FORMAT_PNG;
    if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return TSR_IMAGE_FORMAT_JPEG;
    return TSR_IMAGE_FORMAT_UNKNOWN;
}

HIDDEN void tsr_image_free(uint8_t *rgb) { free(rgb); }

static int too_large(uint64_t width, uint64_t height, uint64_t max_pixels, const char *what,
                     char *err, size_t err_size) {
    if (width == 0 || height == 0) {
        set_error(err, err_size, "%s: image has zero size (%llux%llu)", what,
                  (unsigned long long)width, (unsigned long long)height);
        return TSR_IMAGE_ERR_FORMAT;
    }
    if (width > (1ULL << 31) - 1 || height > (1ULL << 31) - 1 || width * height > max_pixels) {
        set_error(err, err_size, "%s: image is %llux%llu = %llu pixels, more than the limit of %llu",
                  what, (unsigned long long)width, (unsigned long long)height,
                  (unsigned long long)(width * height), (unsigned long long)max_pixels);
        return TSR_IMAGE_ERR_TOO_LARGE;
    }
    return TSR_IMAGE_OK;
}

/* ---------------------------------------------------------------- PNG --- */

static int decode_png(const uint8_t *data, size_t size, uint64_t max_pixels, uint8_t **out_rgb,
                      int32_t *out_width, int32_t *out_height, char *err, size_t err_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        set_error(err, err_size, "PNG: %s", image.message[0] ? image.message : "cannot read the header");
        png_image_free(&image);
        return TSR_IMAGE_ERR_FORMAT;
    }
    int status = too_large(image.width, image.height, max_pixels, "PNG", err, err_size);
    if (status != TSR_IMAGE_OK) {
        png_image_free(&image);
        return status;
    }
    const int has_alpha = (image.format & PNG_FORMAT_FLAG_ALPHA) != 0;
    /* 16-bit samples are sRGB-encoded like 8-bit ones (what PIL assumes too);
     * without this flag libpng would treat them as linear light. */
    image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    /* With alpha, read RGBA and drop alpha ourselves: PNG_FORMAT_RGB would
     * make libpng composite onto a background. */
    image.format = has_alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
    const size_t channels = has_alpha ? 4 : 3;
    const size_t pixels = (size_t)image.width * image.height;
    uint8_t *buf = malloc(pixels * channels);
    if (buf == NULL) {
        set_error(err, err_size, "PNG: out of memory for %ux%u pixels", image.width, image.height);
        png_image_free(&image);
        return TSR_IMAGE_ERR_MEMORY;
    }
    if (!png_image_finish_read(&image, NULL, buf, (png_int_32)(image.width * channels), NULL)) {
        set_error(err, err_size, "PNG: %s", image.message[0] ? image.message : "cannot decode the image");
        png_image_free(&image);
        free(buf);
        return TSR_IMAGE_ERR_FORMAT;
    }
    if (has_alpha) {
        /* In place: the destination never overtakes the source. */
        for (size_t i = 0; i < pixels; i++) {
            buf[i * 3 + 0] = buf[i * 4 + 0];
            buf[i * 3 + 1] = buf[i * 4 + 1];
            buf[i * 3 + 2] = buf[i * 4 + 2];
        }
        uint8_t *shrunk = realloc(buf, pixels * 3);
        if (shrunk != NULL) buf = shrunk;
    }
    *out_rgb = buf;
    *out_width = (int32_t)image.width;
    *out_height = (int32_t)image.height;
    png_image_free(&image);
    return TSR_IMAGE_OK;
}

/* --------------------------------------------------------------- JPEG --- */

struct tsr_jpeg_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int eof_is_error;  /* cleared once every row is decoded */
    char message[JMSG_LENGTH_MAX];
};

/* Fatal errors: keep the message and unwind to the setjmp in the caller,
 * instead of libjpeg's default exit(). */
static void tsr_jpeg_error_exit(j_common_ptr cinfo) {
    struct tsr_jpeg_error *e = (struct tsr_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

/* Warnings are silent, except running out of data before the last row:
 * libjpeg would pad a truncated file with gray and call it a warning; here it
 * is an error, as it is for PIL. (Libjpeg's Huffman decoder reads ahead, so
 * even a file missing only its final EOI marker usually fails here; running
 * out later, in jpeg_finish_decompress, is tolerated.) */
static void tsr_jpeg_emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level < 0) {
        struct tsr_jpeg_error *e = (struct tsr_jpeg_error *)cinfo->err;
        if (cinfo->err->msg_code == JWRN_JPEG_EOF && e->eof_is_error) {
            snprintf(e->message, sizeof e->message, "the data ends before the image does (truncated file)");
            longjmp(e->jump, 1);
        }
        cinfo->err->num_warnings++;
    }
}

static void tsr_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

/* PIL's cmyk2rgb: nk = 255 - K; R = nk - round(C * nk / 255), on C, M, Y,
 * K as PIL holds them (Adobe files store them inverted). */
static inline uint8_t cmyk_channel(int c, int nk) {
    int t = c * nk + 128;
    int v = nk - (((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static int decode_jpeg(const uint8_t *data, size_t size, uint64_t max_pixels, uint8_t **out_rgb,
                       int32_t *out_width, int32_t *out_height, char *err, size_t err_size) {
    struct jpeg_decompress_struct cinfo;
    struct tsr_jpeg_error jerr;
    /* Modified after setjmp and read after longjmp: volatile. */
    uint8_t *volatile rgb = NULL;
    JSAMPLE *volatile cmyk_row = NULL;

    memset(&cinfo, 0, sizeof cinfo);
    memset(&jerr, 0, sizeof jerr);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = tsr_jpeg_error_exit;
    jerr.pub.emit_message = tsr_jpeg_emit_message;
    jerr.pub.output_message = tsr_jpeg_output_message;
    jerr.eof_is_error = 1;
    if (setjmp(jerr.jump)) {
        int oom = jerr.pub.msg_code == JERR_OUT_OF_MEMORY;
        set_error(err, err_size, "JPEG: %s", jerr.message);
        jpeg_destroy_decompress(&cinfo);
        free(rgb);
        free(cmyk_row);
        return oom ? TSR_IMAGE_ERR_MEMORY : TSR_IMAGE_ERR_FORMAT;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    int status = too_large(cinfo.image_width, cinfo.image_height, max_pixels, "JPEG", err, err_size);
    if (status != TSR_IMAGE_OK) {
        jpeg_destroy_decompress(&cinfo);
        return status;
    }
    const int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    const int inverted = cmyk && cinfo.saw_Adobe_marker;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != (cmyk ? 4 : 3)) {
        set_error(err, err_size, "JPEG: unexpected %d output components", cinfo.output_components);
        jpeg_destroy_decompress(&cinfo);
        return TSR_IMAGE_ERR_FORMAT;
    }
    const size_t width = cinfo.output_width, height = cinfo.output_height;
    rgb = malloc(width * height * 3);
    if (cmyk) cmyk_row = malloc(width * 4);
    if (rgb == NULL || (cmyk && cmyk_row == NULL)) {
        set_error(err, err_size, "JPEG: out of memory for %zux%zu pixels", width, height);
        jpeg_destroy_decompress(&cinfo);
        free(rgb);
        free(cmyk_row);
        return TSR_IMAGE_ERR_MEMORY;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        const size_t y = cinfo.output_scanline;
        JSAMPROW row = cmyk ? cmyk_row : rgb + y * width * 3;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
            set_error(err, err_size, "JPEG: no data for row %zu", y);
            jpeg_destroy_decompress(&cinfo);
            free(rgb);
            free(cmyk_row);
            return TSR_IMAGE_ERR_FORMAT;
        }
        if (cmyk) {
            uint8_t *dst = rgb + y * width * 3;
            for (size_t x = 0; x < width; x++) {
                const JSAMPLE *p = cmyk_row + x * 4;
                int c = p[0], m = p[1], yy = p[2], k = p[3];
                if (inverted) { c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k; }
                const int nk = 255 - k;
                dst[x * 3 + 0] = cmyk_channel(c, nk);
                dst[x * 3 + 1] = cmyk_channel(m, nk);
                dst[x * 3 + 2] = cmyk_channel(yy, nk);
            }
        }
    }
    jerr.eof_is_error = 0;
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);
    *out_rgb = rgb;
    *out_width = (int32_t)width;
    *out_height = (int32_t)height;
    return TSR_IMAGE_OK;
}

/* ------------------------------------------------------------- public --- */

HIDDEN int tsr_image_decode_memory(const uint8_t *data, size_t size, uint64_t max_pixels,
                                   uint8_t **out_rgb, int32_t *out_width, int32_t *out_height,
                                   char *err, size_t err_size) {
    if (err != NULL && err_size > 0) err[0] = '\0';
    if (out_rgb == NULL || out_width == NULL || out_height == NULL) {
        set_error(err, err_size, "an output pointer is NULL");
        return TSR_IMAGE_ERR_ARGUMENT;
    }
    *out_rgb = NULL;
    *out_width = 0;
    *out_height = 0;
    if (data == NULL && size > 0) {
        set_error(err, err_size, "data is NULL");
        return TSR_IMAGE_ERR_ARGUMENT;
    }
    if (max_pixels == 0) max_pixels = TSR_IMAGE_DEFAULT_MAX_PIXELS;
    switch (tsr_image_sniff(data, size)) {
    case TSR_IMAGE_FORMAT_PNG:
        return decode_png(data, size, max_pixels, out_rgb, out_width, out_height, err, err_size);
    case TSR_IMAGE_FORMAT_JPEG:
        return decode_jpeg(data, size, max_pixels, out_rgb, out_width, out_height, err, err_size);
    default:
        if (size == 0) set_error(err, err_size, "the file is empty");
        else set_error(err, err_size, "not a PNG or JPEG file (unrecognised first bytes)");
        return TSR_IMAGE_ERR_FORMAT;
    }
}

HIDDEN int tsr_image_decode_file(const char *path, uint64_t max_pixels, uint8_t **out_rgb,
                                 int32_t *out_width, int32_t *out_height, int *out_format,
                                 char *err, size_t err_size) {
    if (err != NULL && err_size > 0) err[0] = '\0';
    if (out_format != NULL) *out_format = TSR_IMAGE_FORMAT_UNKNOWN;
    if (out_rgb != NULL) *out_rgb = NULL;
    if (path == NULL) {
        set_error(err, err_size, "path is NULL");
        return TSR_IMAGE_ERR_ARGUMENT;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        set_error(err, err_size, "cannot open: %s", strerror(errno));
        return TSR_IMAGE_ERR_IO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        set_error(err, err_size, "cannot stat: %s", strerror(errno));
        fclose(f);
        return TSR_IMAGE_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        set_error(err, err_size, "not a regular file");
        fclose(f);
        return TSR_IMAGE_ERR_IO;
    }
    if ((uint64_t)st.st_size > TSR_MAX_FILE_BYTES) {
        set_error(err, err_size, "the file has %lld bytes, more than the limit of %llu",
                  (long long)st.st_size, (unsigned long long)TSR_MAX_FILE_BYTES);
        fclose(f);
        return TSR_IMAGE_ERR_TOO_LARGE;
    }
    const size_t size = (size_t)st.st_size;
    uint8_t *data = malloc(size > 0 ? size : 1);
    if (data == NULL) {
        set_error(err, err_size, "out of memory for %zu bytes", size);
        fclose(f);
        return TSR_IMAGE_ERR_MEMORY;
    }
    size_t got = size > 0 ? fread(data, 1, size, f) : 0;
    int read_error = ferror(f);
    fclose(f);
    if (read_error || got != size) {
        set_error(err, err_size, "cannot read: %s", read_error ? strerror(errno) : "short read");
        free(data);
        return TSR_IMAGE_ERR_IO;
    }
    if (out_format != NULL) *out_format = tsr_image_sniff(data, size);
    int status = tsr_image_decode_memory(data, size, max_pixels, out_rgb, out_width, out_height, err, err_size);
    free(data);
    return status;
}

HIDDEN int tsr_image_write_png(const char *path, const uint8_t *rgb, int32_t width, int32_t height,
                               char *err, size_t err_size) {
    if (err != NULL && err_size > 0) err[0] = '\0';
    if (path == NULL || rgb == NULL || width <= 0 || height <= 0) {
        set_error(err, err_size, "bad arguments (path or pixels NULL, or size %dx%d)", width, height);
        return TSR_IMAGE_ERR_ARGUMENT;
    }
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&image, path, 0, rgb, (png_int_32)width * 3, NULL)) {
        set_error(err, err_size, "PNG: %s", image.message[0] ? image.message : "cannot write");
        png_image_free(&image);
        return TSR_IMAGE_ERR_IO;
    }
    png_image_free(&image);
    return TSR_IMAGE_OK;
}

struct tsr_jpeg_cerror {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void tsr_jpeg_cerror_exit(j_common_ptr cinfo) {
    struct tsr_jpeg_cerror *e = (struct tsr_jpeg_cerror *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

HIDDEN int tsr_image_write_jpeg(const char *path, const uint8_t *rgb, int32_t width, int32_t height,
                                int quality, char *err, size_t err_size) {
    if (err != NULL && err_size > 0) err[0] = '\0';
    if (path == NULL || rgb == NULL || width <= 0 || height <= 0 || width > 65500 || height > 65500) {
        set_error(err, err_size, "bad arguments (path or pixels NULL, or size %dx%d)", width, height);
        return TSR_IMAGE_ERR_ARGUMENT;
    }
    FILE *volatile f = fopen(path, "wb");
    if (f == NULL) {
        set_error(err, err_size, "cannot create: %s", strerror(errno));
        return TSR_IMAGE_ERR_IO;
    }
    struct jpeg_compress_struct cinfo;
    struct tsr_jpeg_cerror jerr;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&jerr, 0, sizeof jerr);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = tsr_jpeg_cerror_exit;
    jerr.pub.output_message = tsr_jpeg_output_message;
    if (setjmp(jerr.jump)) {
        set_error(err, err_size, "JPEG: %s", jerr.message);
        jpeg_destroy_compress(&cinfo);
        fclose(f);
        return TSR_IMAGE_ERR_IO;
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (fclose(f) != 0) {
        set_error(err, err_size, "cannot write: %s", strerror(errno));
        return TSR_IMAGE_ERR_IO;
    }
    return TSR_IMAGE_OK;
}
