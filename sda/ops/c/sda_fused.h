/* The fused single-example SGD steps of sda.ops.fused: one dA step
   (DenoisingSGDStep) and one MLP fine-tuning step (MLPSGDStep), each a
   C function per type (sda_da_step_float32, sda_mlp_step_float64, ...)
   that the ops' glue calls.

   With one example a step is a few matrix-vector products and rank-one
   updates, each a pass over a weight matrix at two flops per weight
   loaded.  These functions pass over each matrix as few times as the
   mathematics allows: a product and the update that follows it are done
   row by row while the row is in the L1 cache, and rows multiplied by an
   input that is exactly zero are skipped.  Rows are split over OpenMP
   threads (when compiled with -fopenmp; how many: sda_threads.h) in a way
   that gives the same sums on any number of threads, serial included. */
#ifndef SDA_FUSED_H
#define SDA_FUSED_H

#include <math.h>
#include <stdlib.h>
#include "sda_threads.h"
#include "sda_vectorised.h"

#define SDA_RESTRICT __restrict__

/* Partial sums over rows are kept per chunk of rows, not per thread, so
   that a step gives the same result on any number of threads (up to this
   many share the work). */
#define SDA_CHUNKS 4


/* Scratch memory kept by each op node from one step to the next, grown
   when a step needs more: no allocation per step. */
typedef struct {
    void *p;
    size_t size;
} sda_scratch;

#define SDA_SCRATCH_INIT {NULL, 0}

static void *sda_scratch_get(sda_scratch *s, size_t size)
{
    if (size > s->size) {
        free(s->p);
        s->p = malloc(size);
        s->size = s->p ? size : 0;
    }
    return s->p;
}

/* Check the shapes of an MLP step's inputs and its label; fill dims with
   the widths of the L + 2 layers (input, L hidden, output).  Returns 0, or
   -1 with a ValueError set. */
static int sda_mlp_check(npy_intp L, PyArrayObject **W, PyArrayObject **b,
                         PyArrayObject *x, npy_int64 label, npy_intp *dims)
{
    if (PyArray_NDIM(x) != 1) {
        PyErr_SetString(PyExc_ValueError, "x must be a vector");
        return -1;
    }
    dims[0] = PyArray_DIMS(x)[0];
    for (npy_intp l = 0; l <= L; ++l) {
        if (PyArray_NDIM(W[l]) != 2 || PyArray_DIMS(W[l])[0] != dims[l]
                || PyArray_NDIM(b[l]) != 1
                || PyArray_DIMS(b[l])[0] != PyArray_DIMS(W[l])[1]) {
            PyErr_Format(PyExc_ValueError, "layer %ld: W must be (%ld, n) "
                         "and b (n,)", (long)l, (long)dims[l]);
            return -1;
        }
        dims[l + 1] = PyArray_DIMS(W[l])[1];
    }
    if (label < 0 || label >= dims[L + 1]) {
        PyErr_Format(PyExc_ValueError, "y must be a label in [0, %ld), got "
                     "%lld", (long)dims[L + 1], (long long)label);
        return -1;
    }
    return 0;
}

/* The inner loops live in small functions that are not inlined: with
   only their restrict-qualified arguments in view the compiler vectorises
   them plainly (inlined into the row loops, GCC 12 chose gathers). */
#define SDA_LOOP __attribute__((noinline)) static void

#define SDA_SINGLE 1
#include "sda_fused_impl.h"
#undef SDA_SINGLE
#define SDA_SINGLE 0
#include "sda_fused_impl.h"
#undef SDA_SINGLE

#endif
