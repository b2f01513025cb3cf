#ifndef NEUROTOP_CBLAS_SHIM_H
#define NEUROTOP_CBLAS_SHIM_H
#include <cblas.h>

/* OpenBLAS's thread count, wrapped so Swift sees one stable name. */
static inline void neurotop_blas_set_threads(int n) { openblas_set_num_threads(n); }
static inline int neurotop_blas_threads(void) { return openblas_get_num_threads(); }
#endif
