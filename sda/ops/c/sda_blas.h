/* PyTensor's matrix products (GEMM, GEMV, GER) with sda's threads
   (sda.ops.blas).

   Included by the ops of sda.ops.blas after PyTensor's BLAS declarations,
   this header defines a wrapper for each product PyTensor's C code calls
   and then points the names at them (#define sgemm_ sda_sgemm, ...), so
   that the ops' code, unchanged, calls the wrappers.  A wrapper runs
   OpenBLAS single-threaded (MKL's sequential layer, with SDA_BLAS=mkl,
   has no threads of its own) and, when sda_threads.h says threads pay,
   splits the output over OpenMP threads: one pool of threads for every op
   of sda, under one policy.  OpenBLAS's own pool would otherwise be a
   second one, its threads spinning while sda's need the cores, and its
   threads wait for each other within a call, which is what makes a call
   that lost a core to another process wait for that core.

   The output is cut into pieces that depend on its shape and on the
   machine's number of processors only, and each piece is one call of
   OpenBLAS however many threads share them: the results do not depend on
   the number of threads.  OpenBLAS's own thread count is restored after
   each call. */
#ifndef SDA_BLAS_H
#define SDA_BLAS_H

#include "sda_threads.h"
#include "sda_small_gemm.h"

#ifdef __cplusplus
extern "C" {
#endif
/* OpenBLAS's thread count, under the names of scipy-openblas32 and of a
   plain OpenBLAS; weak: whichever the module is linked with is found */
int scipy_openblas_get_num_threads(void) __attribute__((weak));
void scipy_openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
void openblas_set_num_threads(int) __attribute__((weak));
#ifdef __cplusplus
}
#endif

#define SDA_ALIGN 64  /* the shortest piece */
#define SDA_STEP 16   /* where pieces may start: a 64-byte line of floats */
#define SDA_UNUSED __attribute__((unused))

/* OpenBLAS to one thread; returns the count to give back. */
static int sda_blas_single(void)
{
    int n = 1;
    if (scipy_openblas_get_num_threads) {
        n = scipy_openblas_get_num_threads();
        if (n != 1) scipy_openblas_set_num_threads(1);
    } else if (openblas_get_num_threads) {
        n = openblas_get_num_threads();
        if (n != 1) openblas_set_num_threads(1);
    }
    return n;
}

static void sda_blas_restore(int n)
{
    if (n == 1) return;
    if (scipy_openblas_set_num_threads) scipy_openblas_set_num_threads(n);
    else if (openblas_set_num_threads) openblas_set_num_threads(n);
}

/* How many pieces an output of `len` rows (or columns) is cut into: one
   per processor of the machine (at most 8), each at least SDA_ALIGN long,
   whatever the number of threads that computes them.  OpenBLAS's kernels
   do not give the same last bits for a piece as for the whole in every
   shape (measured: 1000 x 20 times 20 x 700 in float64, among others), so
   the pieces are the same on one thread as on several, and only the
   machine's size (not its load or OMP_NUM_THREADS) decides them. */
static int sda_pieces(int len)
{
    const int cpus = sda_online_cpus() < 8 ? sda_online_cpus() : 8;
    const int blocks = len / SDA_ALIGN;
    return blocks < 2 ? 1 : blocks < cpus ? blocks : cpus;
}

/* Piece i of np: [lo, hi) of len, cut at multiples of SDA_STEP.  (Cut at
   multiples of 64, the 1000 rows of a layer went 448 to one thread and 552
   to the other, which waited 10 % of a product for it.) */
static void sda_piece(int len, int i, int np, int *lo, int *hi)
{
    const long steps = len / SDA_STEP;
    *lo = (int)(steps * i / np * SDA_STEP);
    *hi = i == np - 1 ? len : (int)(steps * (i + 1) / np * SDA_STEP);
}

static int sda_plain(const char *trans) { return *trans == 'N' || *trans == 'n'; }

/* Runs CALL, which sees the piece's start `lo` and its length `piece`,
   for each of the np pieces of len: on the threads the policy gives `work`
   multiply-adds, OpenBLAS itself on one thread. */
#define SDA_BY_PIECES(len, np, work, CALL)                                  \
    do {                                                                    \
        const int np_ = (np), nt_ = np_ > 1 ? sda_threads(work) : 1;        \
        const int saved_ = sda_blas_single();                               \
        int i_;                                                             \
        (void)nt_;  /* unused without OpenMP */                             \
        SDA_OMP(omp parallel for num_threads(nt_ < np_ ? nt_ : np_)         \
                schedule(static))                                           \
        for (i_ = 0; i_ < np_; ++i_) {                                      \
            int lo, hi, piece;                                              \
            sda_piece((len), i_, np_, &lo, &hi);                            \
            piece = hi - lo;                                                \
            CALL;                                                           \
        }                                                                   \
        sda_blas_restore(saved_);                                           \
    } while (0)

/* C = alpha op(A) op(B) + beta C, column-major as BLAS has it: C is m x n;
   cut along m (op(A)'s rows), or along n (op(B)'s columns) when m is too
   short to cut. */
#define SDA_GEMM(NAME, T, REAL)                                             \
SDA_UNUSED                                                                  \
static void NAME(char *ta, char *tb, const int *m, const int *n,            \
                 const int *k, const T *alpha, const T *a, const int *lda,  \
                 const T *b, const int *ldb, const T *beta, T *c,           \
                 const int *ldc)                                            \
{                                                                           \
    const int rows = *m >= 2 * SDA_ALIGN || *m >= *n;                       \
    const int len = rows ? *m : *n;                                         \
    SDA_BY_PIECES(len, sda_pieces(len), (double)*m * *n * *k,               \
        rows ? REAL(ta, tb, &piece, n, k, alpha,                            \
                    sda_plain(ta) ? a + lo : a + (long)lo * *lda, lda,      \
                    b, ldb, beta, c + lo, ldc)                              \
             : REAL(ta, tb, m, &piece, k, alpha, a, lda,                    \
                    sda_plain(tb) ? b + (long)lo * *ldb : b + lo, ldb,      \
                    beta, c + (long)lo * *ldc, ldc));                       \
}

/* y = alpha op(A) x + beta y, A m x n column-major: cut along y. */
#define SDA_GEMV(NAME, T, REAL)                                             \
SDA_UNUSED                                                                  \
static void NAME(char *ta, const int *m, const int *n, const T *alpha,      \
                 const T *a, const int *lda, const T *x, const int *incx,   \
                 const T *beta, T *y, const int *incy)                      \
{                                                                           \
    const int plain = sda_plain(ta), len = plain ? *m : *n;                 \
    SDA_BY_PIECES(len, *incy > 0 ? sda_pieces(len) : 1, (double)*m * *n,    \
        plain ? REAL(ta, &piece, n, alpha, a + lo, lda, x, incx, beta,      \
                     y + (long)lo * *incy, incy)                            \
              : REAL(ta, m, &piece, alpha, a + (long)lo * *lda, lda, x,     \
                     incx, beta, y + (long)lo * *incy, incy));              \
}

/* A += alpha x y^T, A m x n column-major: cut along n. */
#define SDA_GER(NAME, T, REAL)                                              \
SDA_UNUSED                                                                  \
static void NAME(const int *m, const int *n, const T *alpha, const T *x,    \
                 const int *incx, const T *y, const int *incy, T *a,        \
                 const int *lda)                                            \
{                                                                           \
    SDA_BY_PIECES(*n, *incy > 0 ? sda_pieces(*n) : 1, (double)*m * *n,      \
        REAL(m, &piece, alpha, x, incx, y + (long)lo * *incy, incy,         \
             a + (long)lo * *lda, lda));                                    \
}

#ifdef SDA_SMALL_GEMM
/* One piece of a float32 product: sda's own loops when the minibatch is
   short (sda_small_gemm.h), else the BLAS. */
static void sda_sgemm_piece(char *ta, char *tb, const int *m, const int *n,
                            const int *k, const float *alpha, const float *a,
                            const int *lda, const float *b, const int *ldb,
                            const float *beta, float *c, const int *ldc)
{
    if (!sda_small_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c,
                         ldc))
        sgemm_(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
#define SDA_SGEMM_PIECE sda_sgemm_piece
#else
#define SDA_SGEMM_PIECE sgemm_
#endif

/* Each REAL is the name as the module's BLAS has it (a -D flag may rename
   sgemm_ to scipy_sgemm_): expanded here, before the names are taken. */
SDA_GEMM(sda_sgemm, float, SDA_SGEMM_PIECE)
SDA_GEMM(sda_dgemm, double, dgemm_)
SDA_GEMV(sda_sgemv, float, sgemv_)
SDA_GEMV(sda_dgemv, double, dgemv_)
SDA_GER(sda_sger, float, sger_)
SDA_GER(sda_dger, double, dger_)

#undef sgemm_
#undef dgemm_
#undef sgemv_
#undef dgemv_
#undef sger_
#undef dger_
#define sgemm_ sda_sgemm
#define dgemm_ sda_dgemm
#define sgemv_ sda_sgemv
#define dgemv_ sda_dgemv
#define sger_ sda_sger
#define dger_ sda_dger

#endif
