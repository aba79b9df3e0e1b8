#define _GNU_SOURCE
#include "tessera_cpu.h"
#include <sched.h>
#include <unistd.h>

/* __builtin_cpu_supports checks both the CPUID bits and that the OS saves
 * the wider registers (XGETBV), so a "yes" here is safe to act on. */
int tessera_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int tessera_cpu_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && tessera_cpu_has_avx2_fma();
}

int tessera_cpu_available(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
