/* The typed helpers and the two steps of sda_fused.h for one type,
   selected by SDA_SINGLE (1: float32, 0: float64); included once for
   each.  T is the float type, F(name) the name with the type's suffix. */

#if SDA_SINGLE
#  define SDA_TAG float32
#else
#  define SDA_TAG float64
#endif
#define T SDA_CAT(T, SDA_TAG)
#define F(name) SDA_CAT(name, SDA_TAG)


/* out += c0 w0 + c1 w1 + c2 w2 + c3 w3 */
SDA_LOOP F(sda_axpy4)(npy_intp n, const T *c,
                           const T *SDA_RESTRICT w0, const T *SDA_RESTRICT w1,
                           const T *SDA_RESTRICT w2, const T *SDA_RESTRICT w3,
                           T *SDA_RESTRICT out)
{
    const T c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
    #pragma omp simd
    for (npy_intp j = 0; j < n; ++j)
        out[j] += c0 * w0[j] + c1 * w1[j] + c2 * w2[j] + c3 * w3[j];
}

/* out += c w */
SDA_LOOP F(sda_axpy1)(npy_intp n, T c, const T *SDA_RESTRICT w,
                           T *SDA_RESTRICT out)
{
    #pragma omp simd
    for (npy_intp j = 0; j < n; ++j) out[j] += c * w[j];
}

/* s[r] = w_r . v for four rows */
SDA_LOOP F(sda_dot4)(npy_intp n, const T *SDA_RESTRICT w0,
                          const T *SDA_RESTRICT w1, const T *SDA_RESTRICT w2,
                          const T *SDA_RESTRICT w3, const T *SDA_RESTRICT v,
                          T *SDA_RESTRICT s)
{
    T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    #pragma omp simd reduction(+:s0, s1, s2, s3)
    for (npy_intp j = 0; j < n; ++j) {
        const T u = v[j];
        s0 += w0[j] * u; s1 += w1[j] * u; s2 += w2[j] * u; s3 += w3[j] * u;
    }
    s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
}

static T F(sda_dot1)(npy_intp n, const T *SDA_RESTRICT w,
                                  const T *SDA_RESTRICT v)
{
    T s = 0;
    #pragma omp simd reduction(+:s)
    for (npy_intp j = 0; j < n; ++j) s += w[j] * v[j];
    return s;
}

/* w -= a u + b v (a rank-two update of one row) */
SDA_LOOP F(sda_rank2)(npy_intp n, T a, const T *SDA_RESTRICT u,
                           T b, const T *SDA_RESTRICT v,
                           T *SDA_RESTRICT w)
{
    #pragma omp simd
    for (npy_intp j = 0; j < n; ++j) w[j] -= a * u[j] + b * v[j];
}

/* w -= a u */
SDA_LOOP F(sda_rank1)(npy_intp n, T a, const T *SDA_RESTRICT u,
                           T *SDA_RESTRICT w)
{
    #pragma omp simd
    for (npy_intp j = 0; j < n; ++j) w[j] -= a * u[j];
}

/* out += sum_i c[i] W[i, :] over the rows with c[i] != 0, four at a time. */
static void F(sda_axpy_rows)(const T *W, npy_intp m, npy_intp n,
                                  const T *c, T *out, npy_intp *rows)
{
    npy_intp k = 0, q;
    T cq[4];
    for (npy_intp i = 0; i < m; ++i)
        if (c[i] != 0) rows[k++] = i;
    for (q = 0; q + 4 <= k; q += 4) {
        for (int r = 0; r < 4; ++r) cq[r] = c[rows[q + r]];
        F(sda_axpy4)(n, cq, W + rows[q] * n, W + rows[q + 1] * n,
                          W + rows[q + 2] * n, W + rows[q + 3] * n, out);
    }
    for (; q < k; ++q) F(sda_axpy1)(n, c[rows[q]], W + rows[q] * n, out);
}

/* s[r] = W[i + r, :] . v for the nr <= 4 rows from i */
static void F(sda_dot_rows)(const T *W, npy_intp i, npy_intp nr,
                                 npy_intp n, const T *v, T *s)
{
    const T *w = W + i * n;
    if (nr == 4) F(sda_dot4)(n, w, w + n, w + 2 * n, w + 3 * n, v, s);
    else for (npy_intp r = 0; r < nr; ++r) s[r] = F(sda_dot1)(n, w + r * n, v);
}

/* Copy a (possibly strided) vector into contiguous scratch memory. */
static void F(sda_gather)(PyArrayObject *a, T *out)
{
    npy_intp n = PyArray_DIMS(a)[0], step = PyArray_STRIDES(a)[0];
    const char *p = PyArray_BYTES(a);
    for (npy_intp i = 0; i < n; ++i) out[i] = *(const T *)(p + i * step);
}

/* One SGD step of a tied-weight cross-entropy dA on example x (clean) and
   xt (corrupted), both vectors of W's rows: W, bh and bv are updated in
   place and *cost_out gets the cost before the update (see
   sda.ops.fused.DenoisingSGDStep for the equations).  Returns 0, or -1 with a
   MemoryError set. */
static int F(sda_da_step)(PyArrayObject *W_arr, PyArrayObject *bh_arr,
                          PyArrayObject *bv_arr, PyArrayObject *x_arr,
                          PyArrayObject *xt_arr, T lr, T *cost_out,
                          sda_scratch *scratch)
{
    const npy_intp m = PyArray_DIMS(W_arr)[0], n = PyArray_DIMS(W_arr)[1];
    T *W = (T *)PyArray_DATA(W_arr);
    T *bh = (T *)PyArray_DATA(bh_arr);
    T *bv = (T *)PyArray_DATA(bv_arr);
    const int nt = sda_threads((double)m * n);
    (void)nt;  /* unused without OpenMP */
    /* scratch: row indices first, for their alignment; then the chunks'
       partial costs, x, xt, da (m each), y, dh (n each), one accumulator
       of n per chunk of rows */
    npy_intp *rows = (npy_intp *)sda_scratch_get(
        scratch, sizeof(npy_intp) * m + sizeof(double) * SDA_CHUNKS
                 + sizeof(T) * (3 * m + (2 + SDA_CHUNKS) * n));
    if (!rows) { PyErr_NoMemory(); return -1; }
    double *costs = (double *)(rows + m);
    T *x = (T *)(costs + SDA_CHUNKS), *xt = x + m, *da = xt + m;
    T *y = da + m, *dh = y + n, *acc = dh + n;
    F(sda_gather)(x_arr, x);
    F(sda_gather)(xt_arr, xt);

    SDA_OMP(omp parallel num_threads(nt))
    {
        /* the rows of W are cut into SDA_CHUNKS chunks, each summed into
           its own accumulator, and the threads share out the chunks and
           the columns: the sums are the same for any number of threads */
        const int t = sda_thread(), nthreads = sda_nthreads();
        const npy_intp j0 = n * t / nthreads, j1 = n * (t + 1) / nthreads;
        npy_intp i, j;
        int c, u;

        /* encode: y = s(xt W + bh), skipping the zero entries of xt */
        for (c = t; c < SDA_CHUNKS; c += nthreads) {
            const npy_intp i0 = m * c / SDA_CHUNKS, i1 = m * (c + 1) / SDA_CHUNKS;
            T *mine = acc + c * n;
            for (j = 0; j < n; ++j) mine[j] = 0;
            F(sda_axpy_rows)(W + i0 * n, i1 - i0, n, xt + i0, mine, rows + i0);
        }
        SDA_OMP(omp barrier)
        for (j = j0; j < j1; ++j) {
            T a = bh[j];
            for (u = 0; u < SDA_CHUNKS; ++u) a += acc[u * n + j];
            y[j] = F(sda_vsigmoid)(a);
        }
        SDA_OMP(omp barrier)

        /* decode a = W y + bv four rows at a time; while the rows are in
           cache, back-propagate: W' (z - x) */
        for (c = t; c < SDA_CHUNKS; c += nthreads) {
            const npy_intp i0 = m * c / SDA_CHUNKS, i1 = m * (c + 1) / SDA_CHUNKS;
            T *mine = acc + c * n;
            double cost = 0;
            for (j = 0; j < n; ++j) mine[j] = 0;
            for (i = i0; i < i1; i += 4) {
                T s[4];
                npy_intp r, nr = i1 - i < 4 ? i1 - i : 4;
                F(sda_dot_rows)(W, i, nr, n, y, s);
                for (r = 0; r < nr; ++r) {
                    const T a = s[r] + bv[i + r];
                    const T e = F(sda_exp_minus_abs)(a);
                    cost += F(sda_softplus_from)(a, e) - x[i + r] * a;
                    da[i + r] = F(sda_sigmoid_from)(a, e) - x[i + r];
                }
                F(sda_axpy_rows)(W + i * n, nr, n, da + i, mine, rows + i);
            }
            costs[c] = cost;
        }
        SDA_OMP(omp barrier)
        for (j = j0; j < j1; ++j) {
            T g = 0;
            for (u = 0; u < SDA_CHUNKS; ++u) g += acc[u * n + j];
            dh[j] = g * y[j] * (1 - y[j]);
        }
        SDA_OMP(omp barrier)

        /* W -= lr (xt dh' + da y'), the same chunks of rows; the biases */
        for (c = t; c < SDA_CHUNKS; c += nthreads) {
            const npy_intp i0 = m * c / SDA_CHUNKS, i1 = m * (c + 1) / SDA_CHUNKS;
            for (i = i0; i < i1; ++i) {
                if (xt[i] != 0) F(sda_rank2)(n, lr * xt[i], dh, lr * da[i], y, W + i * n);
                else F(sda_rank1)(n, lr * da[i], y, W + i * n);
                bv[i] -= lr * da[i];
            }
        }
        for (j = j0; j < j1; ++j) bh[j] -= lr * dh[j];
    }
    {
        double cost = 0;
        for (int u = 0; u < SDA_CHUNKS; ++u) cost += costs[u];
        *cost_out = (T)cost;
    }
    return 0;
}

/* One SGD step of a sigmoid MLP with L hidden layers and a softmax output
   on example x with label `label` (negative log-likelihood): W[0..L] and
   b[0..L] are updated in place and *cost_out gets the cost before the
   update (see sda.ops.fused.MLPSGDStep).  dims holds the L + 2 widths that
   sda_mlp_check found.  Returns 0, or -1 with a MemoryError set. */
static int F(sda_mlp_step)(npy_intp L, PyArrayObject **Wout,
                           PyArrayObject **bout, const npy_intp *dims,
                           PyArrayObject *x_arr, npy_int64 label, T lr,
                           T *cost_out, sda_scratch *scratch)
{
    npy_intp l, total = 0, widest = 0, work = 0;
    for (l = 0; l <= L + 1; ++l) {
        total += dims[l];
        if (dims[l] > widest) widest = dims[l];
        if (l <= L) work += dims[l] * dims[l + 1];
    }
    const int nt = sda_threads((double)work);
    (void)nt;  /* unused without OpenMP */
    /* scratch: row indices; the pointers h[l] to the activations of layer
       l (h[0] = x, h[L + 1] the logits) and the activations; two deltas;
       one accumulator per chunk of rows */
    npy_intp *rows = (npy_intp *)sda_scratch_get(
        scratch, sizeof(npy_intp) * widest + sizeof(T *) * (L + 2)
                 + sizeof(T) * (total + (2 + SDA_CHUNKS) * widest));
    if (!rows) { PyErr_NoMemory(); return -1; }
    T **h = (T **)(rows + widest);
    h[0] = (T *)(h + L + 2);
    for (l = 1; l <= L + 1; ++l) h[l] = h[l - 1] + dims[l - 1];
    T *delta = h[L + 1] + dims[L + 1], *below = delta + widest;
    T *acc = below + widest;
    double cost = 0;
    F(sda_gather)(x_arr, h[0]);

    SDA_OMP(omp parallel num_threads(nt))
    {
        const int t = sda_thread(), nthreads = sda_nthreads();
        T *d = delta, *dprev = below;
        npy_intp i, j, k;
        int c;

        /* forward: h[k+1] = s(h[k] W + b), skipping zero inputs; each
           chunk of rows is summed on its own, then the chunks for each
           column (the same sums for any number of threads) */
        for (k = 0; k <= L; ++k) {
            const npy_intp m = dims[k], n = dims[k + 1];
            const npy_intp j0 = n * t / nthreads, j1 = n * (t + 1) / nthreads;
            const T *W = (const T *)PyArray_DATA(Wout[k]);
            const T *b = (const T *)PyArray_DATA(bout[k]);
            for (c = t; c < SDA_CHUNKS; c += nthreads) {
                const npy_intp i0 = m * c / SDA_CHUNKS, i1 = m * (c + 1) / SDA_CHUNKS;
                T *mine = acc + c * widest;
                for (j = 0; j < n; ++j) mine[j] = 0;
                F(sda_axpy_rows)(W + i0 * n, i1 - i0, n, h[k] + i0, mine, rows + i0);
            }
            SDA_OMP(omp barrier)
            for (j = j0; j < j1; ++j) {
                T a = b[j];
                for (int u = 0; u < SDA_CHUNKS; ++u) a += acc[u * widest + j];
                h[k + 1][j] = k < L ? F(sda_vsigmoid)(a) : a;
            }
            SDA_OMP(omp barrier)
        }
        /* softmax and the negative log-likelihood; d = p - onehot(label) */
        SDA_OMP(omp single)
        {
            const npy_intp K = dims[L + 1];
            const T *a = h[L + 1];
            T mx = a[0];
            double sum = 0;
            for (j = 1; j < K; ++j) if (a[j] > mx) mx = a[j];
            for (j = 0; j < K; ++j) { d[j] = F(sda_exp_neg)(a[j] - mx); sum += d[j]; }
            for (j = 0; j < K; ++j) d[j] = (T)(d[j] / sum);
            d[label] -= 1;
            cost = log(sum) + mx - a[label];
        }
        /* backward, top layer first: each row of W gives one entry of the
           delta below and is updated right after, while it is in cache;
           the rows split over the threads with no reduction */
        for (k = L; k >= 0; --k) {
            T *W = (T *)PyArray_DATA(Wout[k]);
            T *b = (T *)PyArray_DATA(bout[k]);
            const npy_intp m = dims[k], n = dims[k + 1];
            const npy_intp j0 = n * t / nthreads, j1 = n * (t + 1) / nthreads;
            const T *hin = h[k];
            /* the chunks of the forward pass: the same groups of four rows
               (and so the same rounding) for any number of threads */
            for (c = t; c < SDA_CHUNKS; c += nthreads) {
                const npy_intp i0 = m * c / SDA_CHUNKS, i1 = m * (c + 1) / SDA_CHUNKS;
                if (k > 0) {
                    for (i = i0; i < i1; i += 4) {
                        T s[4];
                        npy_intp r, nr = i1 - i < 4 ? i1 - i : 4;
                        F(sda_dot_rows)(W, i, nr, n, d, s);
                        for (r = 0; r < nr; ++r) {
                            dprev[i + r] = s[r] * hin[i + r] * (1 - hin[i + r]);
                            F(sda_rank1)(n, lr * hin[i + r], d, W + (i + r) * n);
                        }
                    }
                } else {  /* no delta below the input: rows with x != 0 only */
                    for (i = i0; i < i1; ++i)
                        if (hin[i] != 0) F(sda_rank1)(n, lr * hin[i], d, W + i * n);
                }
            }
            for (j = j0; j < j1; ++j) b[j] -= lr * d[j];
            SDA_OMP(omp barrier)
            { T *tmp = d; d = dprev; dprev = tmp; }
        }
    }
    *cost_out = (T)cost;
    return 0;
}

#undef SDA_TAG
#undef T
#undef F
