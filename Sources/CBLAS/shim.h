#ifndef NEUROTOP_CBLAS_SHIM_H
#define NEUROTOP_CBLAS_SHIM_H
#include <cblas.h>
#include <malloc.h>

/* OpenBLAS's thread count, wrapped so Swift sees one stable name. */
static inline void neurotop_blas_set_threads(int n) { openblas_set_num_threads(n); }
static inline int neurotop_blas_threads(void) { return openblas_get_num_threads(); }

/* The numeric passes allocate and free activation buffers many times a second: keep freed
   buffers up to 32 MB in the heap (up to 128 MB of them unused) rather than returning them to the kernel,
   which would refault every page; larger ones (logits of a big vocabulary) are mapped and unmapped. */
static inline void neurotop_keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}
#endif
