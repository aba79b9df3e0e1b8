/*
 * tessera_imageio.h — image decoding and encoding for the Tessera CLI, a thin
 * layer over the system's libpng (simplified png_image API) and libjpeg-turbo.
 *
 * Every function has hidden visibility: this target is linked into the CLI
 * only, and nothing here may leak into an exported symbol table (libtessera
 * exports tessera_* and nothing else).
 *
 * Decoding always yields 8-bit RGB, interleaved, rows top to bottom, no
 * padding (width * 3 bytes a row). Conversions, with no color management
 * (ICC profiles are ignored):
 *   PNG  gray, gray+alpha, palette (with or without tRNS), RGB, RGBA, 1..16
 *        bits: expanded to RGB; alpha is dropped, not composited (as PIL's
 *        Image.convert("RGB") does); 16-bit samples are taken as sRGB-encoded
 *        (PNG_IMAGE_FLAG_16BIT_sRGB) and scaled to 8 bits by libpng
 *        (round(v / 257)). libpng's simplified API still converts a file whose
 *        gAMA chunk is far from sRGB's.
 *   JPEG gray, YCbCr, RGB: libjpeg's conversion to RGB (ISLOW DCT, fancy
 *        upsampling: libjpeg's defaults, as PIL uses them);
 *        CMYK/YCCK: converted as PIL does, R = (255 - C)(255 - K) / 255, with
 *        Adobe's inverted CMYK recognised.
 *        A truncated JPEG (premature end of data) is an error, not a warning.
 * The format is detected from the first bytes, never from the file name.
 */
#ifndef TESSERA_IMAGEIO_H
#define TESSERA_IMAGEIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_IMAGEIO_HIDDEN __attribute__((visibility("hidden")))

/* Status codes. */
#define TSR_IMAGE_OK            0
#define TSR_IMAGE_ERR_IO        1  /* the file could not be opened, read or written */
#define TSR_IMAGE_ERR_FORMAT    2  /* not a PNG or JPEG, or a corrupt one */
#define TSR_IMAGE_ERR_TOO_LARGE 3  /* more pixels than max_pixels (or file too big) */
#define TSR_IMAGE_ERR_MEMORY    4  /* an allocation failed */
#define TSR_IMAGE_ERR_ARGUMENT  5  /* NULL pointer or bad size */

/* Formats, from the magic bytes. */
#define TSR_IMAGE_FORMAT_UNKNOWN 0
#define TSR_IMAGE_FORMAT_PNG     1
#define TSR_IMAGE_FORMAT_JPEG    2

/* Default cap on decoded pixels: 2^28 (e.g. 16384 x 16384), 768 MiB of RGB. */
#define TSR_IMAGE_DEFAULT_MAX_PIXELS (1ULL << 28)

/* The format of a buffer from its first bytes (PNG signature, JPEG SOI + marker). */
TSR_IMAGEIO_HIDDEN int tsr_image_sniff(const uint8_t *data, size_t size);

/* Decodes a PNG or JPEG held in memory. On success *out_rgb is a malloc'd
 * buffer of width * height * 3 bytes (free it with tsr_image_free) and 0 is
 * returned; on failure *out_rgb is NULL, a status is returned and a message
 * (NUL-terminated, truncated to err_size) is written to err. Images with
 * more than max_pixels pixels (0 = TSR_IMAGE_DEFAULT_MAX_PIXELS) are refused
 * before the pixel buffer is allocated. */
TSR_IMAGEIO_HIDDEN int tsr_image_decode_memory(const uint8_t *data, size_t size,
                                               uint64_t max_pixels,
                                               uint8_t **out_rgb,
                                               int32_t *out_width,
                                               int32_t *out_height,
                                               char *err, size_t err_size);

/* Reads a file and decodes it as tsr_image_decode_memory does; *out_format
 * (may be NULL) receives the detected format. */
TSR_IMAGEIO_HIDDEN int tsr_image_decode_file(const char *path, uint64_t max_pixels,
                                             uint8_t **out_rgb,
                                             int32_t *out_width,
                                             int32_t *out_height,
                                             int *out_format,
                                             char *err, size_t err_size);

/* Writes 8-bit RGB interleaved pixels (width * 3 bytes a row) as a PNG file. */
TSR_IMAGEIO_HIDDEN int tsr_image_write_png(const char *path, const uint8_t *rgb,
                                           int32_t width, int32_t height,
                                           char *err, size_t err_size);

/* Writes 8-bit RGB interleaved pixels as a baseline JPEG (4:2:0, quality
 * 1..100); for tests and examples. */
TSR_IMAGEIO_HIDDEN int tsr_image_write_jpeg(const char *path, const uint8_t *rgb,
                                            int32_t width, int32_t height,
                                            int quality,
                                            char *err, size_t err_size);

/* Frees a buffer returned by a decode function (NULL is fine). */
TSR_IMAGEIO_HIDDEN void tsr_image_free(uint8_t *rgb);

#ifdef __cplusplus
}
#endif
#endif /* TESSERA_IMAGEIO_H */
