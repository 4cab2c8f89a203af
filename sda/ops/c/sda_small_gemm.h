/* Products with a minibatch of a few dozen examples, in float32, for
   processors with AVX-512 (sda.ops.blas).

   At minibatch 20 a training step's products have one short side: the
   minibatch.  OpenBLAS copies (packs) the long operand, the weights, before
   each product, which at that size costs as much as the arithmetic: on one
   core of the machine of docs/performance.md it reached 45-82 GFLOP/s
   where these loops reach 83-92 (benchmarks/gemm_shapes.py --batch 20).  These read the
   weights where they lie, in the order they lie, and keep a tile of the
   output in registers:

     NN  C = X W     X the minibatch (R x K, R <= 64), W read by rows, in
                     chunks of SDA_KC rows; X is copied once, transposed;
     NT  C = D W^T   D the minibatch (R <= 32): dot products of D's rows
                     with W's rows, both read along their length;
     TN  C = X^T D   the weight gradient, a sum over the minibatch (K <= 128).

   A step cycles the weights of every layer (11 MB for the tutorial's SdA)
   through the caches, so W mostly comes from memory; NN reads it 128 rows
   at once, 256 bytes of each, more streams than the processor's
   prefetchers follow.  So each tile asks for the next tile's part of W
   (of C, in TN) while it computes: the forward pass of a minibatch of 20
   through three layers went from 63 to 88 GFLOP/s on one core
   (benchmarks/gemm_shapes.py, its last row, before and after).

   Each output element is summed in one fixed order (over k, in vector
   lanes for NT), whatever the tile or the piece it falls in, so a product
   cut into pieces for threads gives the same bits as in one piece.

   Written in the row-major view of PyTensor's arrays; sda_small_sgemm
   takes BLAS's column-major arguments and returns 0 for every product it
   does not do (other shapes, transpositions, float64, no AVX-512), which
   then goes to the BLAS. */
#ifndef SDA_SMALL_GEMM_H
#define SDA_SMALL_GEMM_H

#if defined(__AVX512F__)
#define SDA_SMALL_GEMM 1
#include <immintrin.h>
#include <stdlib.h>

#define SDA_INLINE static inline __attribute__((always_inline))
/* the tiles' loops must be unrolled for their accumulators to stay in
   registers (GCC leaves some of them rolled, then spills) */
#define SDA_UNROLL _Pragma("GCC unroll 8")
#define SDA_KC 128       /* rows of W per chunk in NN */
#define SDA_TILE_R 6     /* minibatch rows of a tile */
#define SDA_TILE_V 4     /* vectors of 16 floats across a tile (NN, TN) */
#define SDA_TILE_N 4     /* rows of W a tile of NT dots with */

static inline __mmask16 sda_mask16(int n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

/* C[i][j] = beta C + alpha sum_q X[q][i] D[q][j] for a tile of RB rows and
   CB vectors of C (the last one masked by `last`), over the Q rows of X and
   D: the weight gradient (TN, Q the minibatch) and a chunk of NN's rows of
   W (Q of them, X its transposed copy of the minibatch).  `ahead`, if
   not NULL, is the next tile's start in D, prefetched row by row. */
SDA_INLINE void sda_rows_tile(const int RB, const int CB, int Q,
                              const float *X, int ldx, const float *D,
                              int ldd, float *C, int ldc, float alpha,
                              float beta, __mmask16 last, const float *ahead)
{
    __m512 acc[SDA_TILE_R][SDA_TILE_V];
    SDA_UNROLL for (int r = 0; r < RB; ++r)
        SDA_UNROLL for (int v = 0; v < CB; ++v)
            acc[r][v] = _mm512_setzero_ps();
    for (int q = 0; q < Q; ++q) {
        const float *d = D + (long)q * ldd, *x = X + (long)q * ldx;
        __m512 dv[SDA_TILE_V];
        if (ahead)
            SDA_UNROLL for (int v = 0; v < SDA_TILE_V; ++v)
                _mm_prefetch((const char *)(ahead + (long)q * ldd + 16 * v),
                             _MM_HINT_T0);
        SDA_UNROLL for (int v = 0; v < CB; ++v)
            dv[v] = _mm512_maskz_loadu_ps(v == CB - 1 ? last : 0xffff,
                                          d + 16 * v);
        SDA_UNROLL for (int r = 0; r < RB; ++r) {
            const __m512 xv = _mm512_set1_ps(x[r]);
            SDA_UNROLL for (int v = 0; v < CB; ++v)
                acc[r][v] = _mm512_fmadd_ps(xv, dv[v], acc[r][v]);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    SDA_UNROLL for (int r = 0; r < RB; ++r)
        SDA_UNROLL for (int v = 0; v < CB; ++v) {
            const __mmask16 m = v == CB - 1 ? last : 0xffff;
            float *c = C + (long)r * ldc + 16 * v;
            __m512 out = _mm512_mul_ps(va, acc[r][v]);
            if (beta != 0)
                out = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, c), out);
            _mm512_mask_storeu_ps(c, m, out);
        }
}

/* A switch over the tiles' sizes, each a constant in its own copy. */
#define SDA_TILES(TILE, rb, cb, ...)                                        \
    switch ((rb) * 8 + (cb)) {                                              \
    case 1 * 8 + 1: TILE(1, 1, __VA_ARGS__); break;                         \
    case 1 * 8 + 2: TILE(1, 2, __VA_ARGS__); break;                         \
    case 1 * 8 + 3: TILE(1, 3, __VA_ARGS__); break;                         \
    case 1 * 8 + 4: TILE(1, 4, __VA_ARGS__); break;                         \
    case 2 * 8 + 1: TILE(2, 1, __VA_ARGS__); break;                         \
    case 2 * 8 + 2: TILE(2, 2, __VA_ARGS__); break;                         \
    case 2 * 8 + 3: TILE(2, 3, __VA_ARGS__); break;                         \
    case 2 * 8 + 4: TILE(2, 4, __VA_ARGS__); break;                         \
    case 3 * 8 + 1: TILE(3, 1, __VA_ARGS__); break;                         \
    case 3 * 8 + 2: TILE(3, 2, __VA_ARGS__); break;                         \
    case 3 * 8 + 3: TILE(3, 3, __VA_ARGS__); break;                         \
    case 3 * 8 + 4: TILE(3, 4, __VA_ARGS__); break;                         \
    case 4 * 8 + 1: TILE(4, 1, __VA_ARGS__); break;                         \
    case 4 * 8 + 2: TILE(4, 2, __VA_ARGS__); break;                         \
    case 4 * 8 + 3: TILE(4, 3, __VA_ARGS__); break;                         \
    case 4 * 8 + 4: TILE(4, 4, __VA_ARGS__); break;                         \
    case 5 * 8 + 1: TILE(5, 1, __VA_ARGS__); break;                         \
    case 5 * 8 + 2: TILE(5, 2, __VA_ARGS__); break;                         \
    case 5 * 8 + 3: TILE(5, 3, __VA_ARGS__); break;                         \
    case 5 * 8 + 4: TILE(5, 4, __VA_ARGS__); break;                         \
    case 6 * 8 + 1: TILE(6, 1, __VA_ARGS__); break;                         \
    case 6 * 8 + 2: TILE(6, 2, __VA_ARGS__); break;                         \
    case 6 * 8 + 3: TILE(6, 3, __VA_ARGS__); break;                         \
    case 6 * 8 + 4: TILE(6, 4, __VA_ARGS__); break;                         \
    }

#define SDA_ROWS_TILE(RB, CB, ...) sda_rows_tile(RB, CB, __VA_ARGS__)

/* The copy of X^T each thread keeps (grown, never shrunk). */
static float *sda_small_scratch(size_t n)
{
    static __thread float *buf = NULL;
    static __thread size_t cap = 0;
    if (n > cap) {
        free(buf);
        buf = (float *)aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        cap = buf ? n : 0;
    }
    return buf;
}

/* C[R x N] = beta C + alpha X W, X(r, k) = x[r * xr + k * xk], W K x N
   with rows ldw apart: W's rows in chunks of SDA_KC, each chunk added to C
   (scaled by beta before the first).  Returns 0 without a scratch copy. */
static int sda_nn(int R, int N, int K, float alpha, const float *x, long xr,
                  long xk, const float *W, int ldw, float beta, float *C,
                  int ldc)
{
    float *Xt = sda_small_scratch((size_t)K * R);
    if (!Xt) return 0;
    for (int k = 0; k < K; ++k)
        for (int r = 0; r < R; ++r)
            Xt[(long)k * R + r] = x[r * xr + k * xk];
    const int width = 16 * SDA_TILE_V;
    for (int k0 = 0; k0 < K; k0 += SDA_KC) {
        const int kn = K - k0 < SDA_KC ? K - k0 : SDA_KC;
        const float b = k0 == 0 ? beta : 1;
        /* by columns, then rows: a chunk's columns stay in the L1 cache
           for every tile of rows */
        for (int j = 0; j < N; j += width) {
            const int nc = N - j < width ? N - j : width;
            const int cb = (nc + 15) / 16;
            const __mmask16 last = sda_mask16(nc - 16 * (cb - 1));
            for (int r = 0; r < R; r += SDA_TILE_R) {
                const int rb = R - r < SDA_TILE_R ? R - r : SDA_TILE_R;
                SDA_TILES(SDA_ROWS_TILE, rb, cb, kn, Xt + (long)k0 * R + r,
                          R, W + (long)k0 * ldw + j, ldw,
                          C + (long)r * ldc + j, ldc, alpha, b, last,
                          r > 0 ? NULL
                          : j + width < N ? W + (long)k0 * ldw + j + width
                          : k0 + SDA_KC < K ? W + (long)(k0 + SDA_KC) * ldw
                          : NULL)
            }
        }
    }
    return 1;
}

/* -- NT: C[r][j] = beta C + alpha D[r, :] . W[j, :] for a tile of RB rows
   of D and NB rows of W, both K long. */
SDA_INLINE void sda_nt_tile(const int RB, const int NB, int K, const float *D,
                            int ldd, const float *W, int ldw, float *C,
                            int ldc, float alpha, float beta,
                            const float *ahead)
{
    __m512 acc[SDA_TILE_R][SDA_TILE_N];
    SDA_UNROLL for (int r = 0; r < RB; ++r)
        SDA_UNROLL for (int n = 0; n < NB; ++n)
            acc[r][n] = _mm512_setzero_ps();
    for (int k = 0; k < K; k += 16) {
        const __mmask16 m = sda_mask16(K - k);
        __m512 wv[SDA_TILE_N];
        if (ahead)
            SDA_UNROLL for (int n = 0; n < SDA_TILE_N; ++n)
                _mm_prefetch((const char *)(ahead + (long)n * ldw + k),
                             _MM_HINT_T0);
        SDA_UNROLL for (int n = 0; n < NB; ++n)
            wv[n] = _mm512_maskz_loadu_ps(m, W + (long)n * ldw + k);
        SDA_UNROLL for (int r = 0; r < RB; ++r) {
            const __m512 dv = _mm512_maskz_loadu_ps(m, D + (long)r * ldd + k);
            SDA_UNROLL for (int n = 0; n < NB; ++n)
                acc[r][n] = _mm512_fmadd_ps(dv, wv[n], acc[r][n]);
        }
    }
    SDA_UNROLL for (int r = 0; r < RB; ++r)
        SDA_UNROLL for (int n = 0; n < NB; ++n) {
            float *c = C + (long)r * ldc + n;
            const float s = alpha * _mm512_reduce_add_ps(acc[r][n]);
            *c = beta == 0 ? s : beta * *c + s;
        }
}

#define SDA_NT_TILE(RB, NB, ...) sda_nt_tile(RB, NB, __VA_ARGS__)

static void sda_nt(int R, int N, int K, float alpha, const float *D, int ldd,
                   const float *W, int ldw, float beta, float *C, int ldc)
{
    for (int j = 0; j < N; j += SDA_TILE_N) {
        const int nb = N - j < SDA_TILE_N ? N - j : SDA_TILE_N;
        for (int r = 0; r < R; r += SDA_TILE_R) {
            const int rb = R - r < SDA_TILE_R ? R - r : SDA_TILE_R;
            SDA_TILES(SDA_NT_TILE, rb, nb, K, D + (long)r * ldd, ldd,
                      W + (long)j * ldw, ldw, C + (long)r * ldc + j, ldc,
                      alpha, beta,
                      r == 0 && j + 2 * SDA_TILE_N <= N
                          ? W + (long)(j + SDA_TILE_N) * ldw : NULL)
        }
    }
}

static void sda_tn(int R, int N, int Q, float alpha, const float *X, int ldx,
                   const float *D, int ldd, float beta, float *C, int ldc)
{
    const int width = 16 * SDA_TILE_V;
    /* row by row of C, which is read and written once, in order */
    for (int r = 0; r < R; r += SDA_TILE_R) {
        const int rb = R - r < SDA_TILE_R ? R - r : SDA_TILE_R;
        for (int j = 0; j < N; j += width) {
            const int nc = N - j < width ? N - j : width;
            const int cb = (nc + 15) / 16;
            const __mmask16 last = sda_mask16(nc - 16 * (cb - 1));
            /* the next tile of C: this one's rows further on, or the next
               rows from their start */
            const float *next = j + width < N ? C + (long)r * ldc + j + width
                                              : C + (long)(r + rb) * ldc;
            const int rows_ahead = j + width < N ? rb
                                   : R - r - rb < SDA_TILE_R ? R - r - rb
                                                             : SDA_TILE_R;
            for (int i = 0; i < rows_ahead; ++i)
                SDA_UNROLL for (int v = 0; v < SDA_TILE_V; ++v)
                    _mm_prefetch((const char *)(next + (long)i * ldc + 16 * v),
                                 _MM_HINT_T0);
            SDA_TILES(SDA_ROWS_TILE, rb, cb, Q, X + r, ldx, D + j, ldd,
                      C + (long)r * ldc + j, ldc, alpha, beta, last, NULL)
        }
    }
}

/* sgemm_'s arguments (C = alpha op(A) op(B) + beta C, column-major, m x n).
   In the row-major view C is n x m, op(B)^T n x k and op(A)^T k x m.
   Does the product and returns 1 if it is one of the three above. */
static int sda_small_sgemm(const char *ta, const char *tb, const int *m,
                           const int *n, const int *k, const float *alpha,
                           const float *a, const int *lda, const float *b,
                           const int *ldb, const float *beta, float *c,
                           const int *ldc)
{
    const int M = *m, N = *n, K = *k;
    const int ta_n = *ta == 'N' || *ta == 'n', tb_n = *tb == 'N' || *tb == 'n';
    if (*alpha == 0 || M <= 0 || N <= 0 || K <= 0) return 0;
    if (ta_n && N <= 64 && M >= 64 && K >= 16)  /* X W: X is op(B)^T */
        return sda_nn(N, M, K, *alpha, b, tb_n ? *ldb : 1, tb_n ? 1 : *ldb,
                      a, *lda, *beta, c, *ldc);
    if (!ta_n && tb_n && N <= 32 && M >= 16 && K >= 64) {  /* D W^T */
        sda_nt(N, M, K, *alpha, b, *ldb, a, *lda, *beta, c, *ldc);
        return 1;
    }
    if (ta_n && !tb_n && K <= 128 && M >= 64 && N >= 64) {  /* X^T D */
        sda_tn(N, M, K, *alpha, b, *ldb, a, *lda, *beta, c, *ldc);
        return 1;
    }
    return 0;
}

#endif  /* __AVX512F__ */
#endif
