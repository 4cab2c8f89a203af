/* Vectorisable e^x, log(1 + y), sigmoid and softplus for float32 and
   float64 (sda.ops.elementwise; the fused steps of sda.ops.fused call them
   too).

   sigmoid(a) = 1 / (1 + e^-|a|)   for a >= 0,   e^-|a| / (1 + e^-|a|) else
   softplus(a) = max(a, 0) + log(1 + e^-|a|)

   Both come from one exponential of -|a|, so nothing overflows.  exp and
   log1p are polynomials with selects instead of branches, which GCC turns
   into SIMD code under `#pragma omp simd` (-fopenmp-simd; with
   -fno-trapping-math for the selects); the C library's exp and log1p are
   calls it cannot vectorise.  Within 4 units in the last place of the exact
   values (tests/ops/test_elementwise.py checks against long double).

   Each function exists for both types, named with the type:
   sda_vsigmoid_float32, sda_vsoftplus_float64, sda_exp_neg_float32, ... */
#ifndef SDA_VECTORISED_H
#define SDA_VECTORISED_H

#include "sda_threads.h"

#define SDA_SIGMOID 0
#define SDA_SOFTPLUS 1

/* What an element costs in the thread policy's unit, the multiply-adds of
   a matrix product: on one core a sigmoid takes as long as about 20-25 of
   them (benchmarks/bench_kernels.py, 2026-12-08: a 128 x 1000 sigmoid in
   52-63 us on one thread, a 128 x 784 x 1000 product in 1087 us on two);
   the softplus, not timed alone, is given the same.  So the threads the
   policy gives share a minibatch of 20 rows of 1000 units, not one
   example. */
#define SDA_UNARY_WORK 24

/* SDA_CAT(f, float32) -> f_float32, after expanding its arguments */
#define SDA_CAT_(a, b) a##_##b
#define SDA_CAT(a, b) SDA_CAT_(a, b)

#define SDA_SINGLE 1
#include "sda_vectorised_impl.h"
#undef SDA_SINGLE
#define SDA_SINGLE 0
#include "sda_vectorised_impl.h"
#undef SDA_SINGLE

#endif
