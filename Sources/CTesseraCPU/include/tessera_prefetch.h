/* Software prefetch for the kernels (Swift has no intrinsic for it). */
#ifndef TESSERA_PREFETCH_H
#define TESSERA_PREFETCH_H
static inline void tessera_prefetch_read(const void *p) { __builtin_prefetch(p, 0, 3); }
static inline void tessera_prefetch_write(const void *p) { __builtin_prefetch(p, 1, 3); }
#endif
