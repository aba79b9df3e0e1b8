#define _GNU_SOURCE
#include "tessera_cpu.h"
#include <sched.h>
#include <unistd.h>
#include <cpuid.h>
#include <stdio.h>
#include <string.h>

/* Read from CPUID and XGETBV at each call, not from __builtin_cpu_supports:
 * that reads a table libgcc fills in a constructor when the library loads,
 * before anything the process sets up later (benchmarks/hide_avx512.c, an
 * LD_PRELOAD that hides AVX-512 through CPUID faulting, ran too late for it).
 * A feature counts only when the OS also saves its registers (XCR0). */
static unsigned long long xcr0(void) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return 0; /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

int tessera_cpu_has_avx2_fma(void) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, avx = (c >> 28) & 1;
    if (!fma || !avx || (xcr0() & 0x6) != 0x6) return 0; /* SSE and AVX state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 5) & 1; /* AVX2 */
}

int tessera_cpu_has_avx512(void) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!tessera_cpu_has_avx2_fma() || (xcr0() & 0xE6) != 0xE6) return 0; /* + opmask, ZMM state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return ((b >> 16) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1); /* AVX512 F, BW, VL */
}

/* CPUID leaf 7: sub-leaf 0 ECX bit 11 is AVX512_VNNI, sub-leaf 1 EAX bit 4
 * is AVX-VNNI; the register state they need is the AVX-512 / AVX one. */
int tessera_cpu_has_avx512vnni(void) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!tessera_cpu_has_avx512() || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (c >> 11) & 1;
}

int tessera_cpu_has_avxvnni(void) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!tessera_cpu_has_avx2_fma() || !__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 4) & 1;
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

/* The CPU's identity for keying measured tunings: vendor, family, model and
 * stepping from CPUID leaf 1, then the brand string (leaves 0x80000002-4),
 * e.g. "GenuineIntel 6/207/2 Intel(R) Xeon(R) Processor". */
void tessera_cpu_identity(char *out, int size) {
    if (size <= 0) return;
    unsigned a = 0, b = 0, c = 0, d = 0;
    char vendor[13] = {0};
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        memcpy(vendor, &b, 4); memcpy(vendor + 4, &d, 4); memcpy(vendor + 8, &c, 4);
    }
    unsigned family = 0, model = 0, stepping = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        family = (a >> 8) & 0xf; model = (a >> 4) & 0xf; stepping = a & 0xf;
        if (family == 0xf) family += (a >> 20) & 0xff;
        if (family == 0x6 || family >= 0xf) model += ((a >> 16) & 0xf) << 4;
    }
    char brand[49] = {0};
    unsigned max = __get_cpuid_max(0x80000000, NULL);
    if (max >= 0x80000004) {
        for (unsigned leaf = 0; leaf < 3; leaf++) {
            unsigned r[4];
            __get_cpuid(0x80000002 + leaf, &r[0], &r[1], &r[2], &r[3]);
            memcpy(brand + 16 * leaf, r, 16);
        }
    }
    const char *trimmed = brand;
    while (*trimmed == ' ') trimmed++;
    snprintf(out, (size_t)size, "%s %u/%u/%u %s", vendor, family, model, stepping, trimmed);
}
