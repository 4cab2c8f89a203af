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
   threads (when compiled with -fopenmp) in a way that gives the same sums
   on any number of threads, serial included. */
#ifndef SDA_FUSED_H
#define SDA_FUSED_H

#include <math.h>
#include <stdlib.h>
#include "sda_vectorised.h"

#define SDA_RESTRICT __restrict__

/* The threading pragmas; without OpenMP the parallel region runs once, as
   thread 0 of 1 (the `omp simd` loops are vectorised either way). */
#ifdef _OPENMP
#define SDA_OMP(directive) _Pragma(#directive)
#else
#define SDA_OMP(directive)
#endif

#ifdef _OPENMP
#include <omp.h>
static int sda_thread(void) { return omp_get_thread_num(); }
static int sda_nthreads(void) { return omp_get_num_threads(); }
static double sda_now(void) { return omp_get_wtime(); }
static int sda_max_threads(void) { return omp_get_max_threads(); }
#else
static int sda_thread(void) { return 0; }
static int sda_nthreads(void) { return 1; }
static double sda_now(void) { return 0; }
static int sda_max_threads(void) { return 1; }
#endif

/* How many threads a step gets.  Threads pay off only for a step that
   moves a million bytes' worth of weights or more; then OpenMP's count
   (OMP_NUM_THREADS, by default the cores), unless one thread has been
   faster lately.  A step split over threads waits at barriers for all of
   them, so when another process takes a core it can take a hundred times
   longer (measured: two trainings on two cores, 16 and 1427 steps/s,
   against about 700 each on one thread each).  So each op node keeps a
   moving average of its step time the way it runs, and now and then times
   eight steps the other way (the last six count: the first ones wake the
   threads up).  It switches when the other way was 20 % faster; if not,
   the next trial comes twice as late (64 steps, then up to 8192).  A run
   that gets 25 % slower than the other way's last trial tries it at once.
   The first steps, which start the threads, are not counted. */
typedef struct {
    double avg[2];          /* step time: one thread, several */
    double trial_sum;
    long calls, next_try, interval;
    int threaded;           /* the way steps run, but for trials */
    int trial_left;         /* steps left in the current trial */
} sda_pace;

#define SDA_PACE_INIT {{0, 0}, 0, 0, 64, 64, 1, 0}
#define SDA_TRIAL 8
#define SDA_TRIAL_SKIP 2

static int sda_threads(sda_pace *p, npy_intp work)
{
    const int nmax = work < (1 << 18) ? 1 : sda_max_threads();
    if (nmax <= 1) return 1;
    if (++p->calls > 8 && p->trial_left == 0 && p->calls >= p->next_try) {
        p->trial_left = SDA_TRIAL;
        p->trial_sum = 0;
    }
    return (p->trial_left > 0 ? !p->threaded : p->threaded) ? nmax : 1;
}

static void sda_paced(sda_pace *p, npy_intp work, int nt, double seconds)
{
    const int way = nt > 1;
    if (work < (1 << 18) || sda_max_threads() <= 1 || p->calls <= 8) return;
    if (p->trial_left > 0) {
        if (SDA_TRIAL - p->trial_left >= SDA_TRIAL_SKIP) p->trial_sum += seconds;
        if (--p->trial_left == 0) {
            p->avg[way] = p->trial_sum / (SDA_TRIAL - SDA_TRIAL_SKIP);
            if (p->avg[way] < 0.8 * p->avg[!way]) {
                p->threaded = way;
                p->interval = 64;
            } else if (p->interval < 8192) {
                p->interval *= 2;
            }
            p->next_try = p->calls + p->interval;
        }
        return;
    }
    if (p->avg[way] == 0) p->avg[way] = seconds;
    else p->avg[way] += (seconds - p->avg[way]) / 32;
    if (p->avg[!way] > 0 && p->avg[way] > 1.25 * p->avg[!way]
            && p->next_try > p->calls + 1)
        p->next_try = p->calls + 1;
}

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
