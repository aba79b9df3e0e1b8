/* A work counter shared by the threads of one parallel region (the kernel
 * modules cannot use Swift's Atomic through a plain pointer). */
#ifndef TESSERA_ATOMIC_H
#define TESSERA_ATOMIC_H
static inline long tessera_next_chunk(long *counter) {
    return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}
#endif
