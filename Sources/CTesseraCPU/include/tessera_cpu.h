/* CPU facts the runtime needs and Swift cannot ask for directly. Internal:
 * hidden from the shared library's exports. */
#ifndef TESSERA_CPU_H
#define TESSERA_CPU_H
#define TESSERA_HIDDEN __attribute__((visibility("hidden")))
/* 1 when the CPU and the OS support AVX2 and FMA. */
TESSERA_HIDDEN int tessera_cpu_has_avx2_fma(void);
/* 1 when the CPU and the OS support AVX-512 F, BW and VL. */
TESSERA_HIDDEN int tessera_cpu_has_avx512(void);
/* 1 when the CPU has AVX-512 VNNI (and the AVX-512 above). */
TESSERA_HIDDEN int tessera_cpu_has_avx512vnni(void);
/* 1 when the CPU has AVX-VNNI (the VEX form, ymm) and AVX2. */
TESSERA_HIDDEN int tessera_cpu_has_avxvnni(void);
/* The number of CPUs this process may run on (sched_getaffinity). */
TESSERA_HIDDEN int tessera_cpu_available(void);
/* Vendor, family/model/stepping and brand string, NUL-terminated in `out`. */
TESSERA_HIDDEN void tessera_cpu_identity(char *out, int size);
#endif
