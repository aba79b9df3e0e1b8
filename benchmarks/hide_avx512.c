/*
 * hide_avx512.c — an LD_PRELOAD library that makes a process see this CPU
 * without AVX-512, AVX-VNNI and AMX, so that every runtime in it picks the
 * kernels it would pick on an AVX2 machine without VNNI (a Zen 3, a
 * Haswell-to-Skylake client part). Used by `benchmarks/run.sh --no-avx512`.
 *
 *   cc -O2 -shared -fPIC -o hide_avx512.so benchmarks/hide_avx512.c
 *   LD_PRELOAD=$PWD/hide_avx512.so python3 ...
 *
 * How: Linux's CPUID faulting (arch_prctl ARCH_SET_CPUID, the "cpuid_fault"
 * flag in /proc/cpuinfo) makes every CPUID instruction of the process raise
 * SIGSEGV. The handler runs the real CPUID with faulting briefly off, clears
 * the feature bits below in leaf 7, and resumes after the instruction. The
 * setting is per thread and inherited by the threads and children created
 * after it (execve resets it; LD_PRELOAD sets it again in the new program).
 * Only what code reads through CPUID changes: the silicon, its clock and
 * its caches stay those of this CPU, so timings are an emulation of an AVX2
 * machine, not a measurement of one. Where the kernel has no CPUID faulting
 * the constructor says so on stderr and the process runs unmasked, which
 * the caller must check (`hide_avx512_active` in the environment).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef ARCH_SET_CPUID
#define ARCH_SET_CPUID 0x1012
#endif

/* Leaf 7, subleaf 0. EBX: AVX512 F, DQ, IFMA, PF, ER, CD, BW, VL. */
#define HIDE_7_0_EBX ((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31))
/* ECX: AVX512 VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ. */
#define HIDE_7_0_ECX ((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14))
/* EDX: AVX512 4VNNIW, 4FMAPS, VP2INTERSECT, AMX-BF16, AVX512 FP16, AMX-TILE, AMX-INT8. */
#define HIDE_7_0_EDX ((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25))
/* Leaf 7, subleaf 1. EAX: AVX-VNNI, AVX512 BF16. */
#define HIDE_7_1_EAX ((1u << 4) | (1u << 5))

static int set_faulting(int on) { return (int)syscall(SYS_arch_prctl, ARCH_SET_CPUID, on ? 0 : 1); }

static void on_segv(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    greg_t *r = uc->uc_mcontext.gregs;
    const uint8_t *ip = (const uint8_t *)r[REG_RIP];
    if (ip[0] != 0x0F || ip[1] != 0xA2) { /* not CPUID: fault as if we were not here */
        signal(sig, SIG_DFL);
        (void)info;
        return;
    }
    uint32_t leaf = (uint32_t)r[REG_RAX], sub = (uint32_t)r[REG_RCX], a, b, c, d;
    set_faulting(0);
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(sub));
    set_faulting(1);
    if (leaf == 7 && sub == 0) { b &= ~HIDE_7_0_EBX; c &= ~HIDE_7_0_ECX; d &= ~HIDE_7_0_EDX; }
    if (leaf == 7 && sub == 1) a &= ~HIDE_7_1_EAX;
    r[REG_RAX] = a; r[REG_RBX] = b; r[REG_RCX] = c; r[REG_RDX] = d;
    r[REG_RIP] += 2;
}

__attribute__((constructor)) static void hide_avx512(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0 || set_faulting(1) != 0) {
        fprintf(stderr, "hide_avx512: CPUID faulting is not available here; the process sees every feature\n");
        return;
    }
    setenv("hide_avx512_active", "1", 1);
}
