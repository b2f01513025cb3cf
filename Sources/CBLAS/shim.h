#ifndef NEUROTOP_CBLAS_SHIM_H
#define NEUROTOP_CBLAS_SHIM_H
#include <cblas.h>
#include <malloc.h>

/* OpenBLAS's thread count, wrapped so Swift sees one stable name. */
static inline void neurotop_blas_set_threads(int n) { openblas_set_num_threads(n); }
static inline int neurotop_blas_threads(void) { return openblas_get_num_threads(); }

/* The numeric passes allocate and free large activation buffers many times a second: keep freed
   memory in the heap rather than returning it to the kernel, which would refault every page. */
static inline void neurotop_keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}
#endif
