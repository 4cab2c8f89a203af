/* The vectorisable functions of sda_vectorised.h for one type, selected by
   SDA_SINGLE (1: float32, 0: float64); included once for each.  T is the
   float type, U the unsigned integer of its size, F(name) the name with
   the type's suffix (sda_exp_neg -> sda_exp_neg_float32). */

#if SDA_SINGLE
#  define SDA_TAG float32
typedef npy_float32 T_float32;
typedef npy_uint32 U_float32;
#  define T T_float32
#  define U U_float32
#  define C(x) x##f                 /* a constant of type T */
#  define SDA_XMIN -87.33f          /* e^x underflows below */
#  define SDA_SHIFTER 12582912.0f   /* 1.5 * 2^23 */
#  define SDA_LN2_HI 0.693145751953125f
#  define SDA_LN2_LO 1.4286068203094173e-06f
#  define SDA_MANTISSA 23
#  define SDA_BIAS_MINUS_SHIFTER (127 - 0x4B400000)
#else
#  define SDA_TAG float64
typedef npy_float64 T_float64;
typedef npy_uint64 U_float64;
#  define T T_float64
#  define U U_float64
#  define C(x) x
#  define SDA_XMIN -708.39
#  define SDA_SHIFTER 6755399441055744.0   /* 1.5 * 2^52 */
#  define SDA_LN2_HI 0.6931471805598903
#  define SDA_LN2_LO 5.497923018708371e-14
#  define SDA_MANTISSA 52
#  define SDA_BIAS_MINUS_SHIFTER (1023 - 0x4338000000000000LL)
#endif
#define F(name) SDA_CAT(name, SDA_TAG)

/* e^x for x <= 0; 0 below SDA_XMIN, where e^x underflows.  x = n ln 2 + r
   with |r| <= ln 2 / 2 (ln 2 in two parts, hi short enough that n * hi is
   exact), the Taylor polynomial of e^r, and 2^n built in the exponent
   bits. */
static inline T F(sda_exp_neg)(T x)
{
    const T lo = SDA_XMIN, zero = 0;
    const T xc = x < lo ? lo : x;
    /* Adding 1.5 * 2^(mantissa bits) rounds xc log2(e) to the integer n,
       which then sits in the low bits of t. */
    const T t = xc * C(1.4426950408889634) + SDA_SHIFTER;
    const T n = t - SDA_SHIFTER;
    const T r = (xc - n * SDA_LN2_HI) - n * SDA_LN2_LO;
#if SDA_SINGLE  /* 1/k!, k = 0..7 */
    const T p = 1.0f + r * (1.0f + r * (0.5f + r * (0.16666666666666666f
        + r * (0.041666666666666664f + r * (0.008333333333333333f
        + r * (0.001388888888888889f + r * (0.0001984126984126984f)))))));
#else           /* 1/k!, k = 0..13 */
    const T p = 1.0 + r * (1.0 + r * (0.5 + r * (0.16666666666666666
        + r * (0.041666666666666664 + r * (0.008333333333333333
        + r * (0.001388888888888889 + r * (0.0001984126984126984
        + r * (2.48015873015873e-05 + r * (2.7557319223985893e-06
        + r * (2.755731922398589e-07 + r * (2.505210838544172e-08
        + r * (2.08767569878681e-09 + r * (1.6059043836821613e-10)))))))))))));
#endif
    U bits;
    T scale;
    __builtin_memcpy(&bits, &t, sizeof bits);
    bits = (bits + (U)SDA_BIAS_MINUS_SHIFTER) << SDA_MANTISSA;  /* 2^n */
    __builtin_memcpy(&scale, &bits, sizeof scale);
    const T e = p * scale;
    return x < lo ? zero : e;
}

/* log(1 + y) for y in [0, 1]: u = 1 + y (and the part of y that rounding
   u lost), u = 2^k m with m in [sqrt(1/2), sqrt(2)], log m = 2 atanh(s),
   s = (m - 1) / (m + 1), from its odd series. */
static inline T F(sda_log1p_unit)(T y)
{
    const T u = 1 + y;
    const T lost = (y - (u - 1)) / u;
    const int big = u > C(1.4142135623730951);
    const T half_u = u * (T)0.5, one = 1, zero = 0;
    const T m = big ? half_u : u;
    const T k = big ? one : zero;
    const T f = m - 1;
    const T s = f / (2 + f);
    const T z = s * s;
#if SDA_SINGLE  /* 1/(2k+1), k = 0..4 */
    const T series = 1.0f + z * (0.3333333333333333f + z * (0.2f
        + z * (0.14285714285714285f + z * (0.1111111111111111f))));
#else           /* 1/(2k+1), k = 0..10 */
    const T series = 1.0 + z * (0.3333333333333333 + z * (0.2
        + z * (0.14285714285714285 + z * (0.1111111111111111
        + z * (0.09090909090909091 + z * (0.07692307692307693
        + z * (0.06666666666666667 + z * (0.058823529411764705
        + z * (0.05263157894736842 + z * (0.047619047619047616))))))))));
#endif
    return k * SDA_LN2_HI + (2 * s * (series) + (k * SDA_LN2_LO + lost));
}

/* e^-|a|, from which both functions follow */
static inline T F(sda_exp_minus_abs)(T a)
{
    const T minus_a = -a;
    return F(sda_exp_neg)(a < 0 ? a : minus_a);
}

/* s(a), given e = e^-|a| */
static inline T F(sda_sigmoid_from)(T a, T e)
{
    const T s = 1 / (1 + e), es = e * s;
    return a < 0 ? es : s;
}

/* softplus(a), given e = e^-|a| */
static inline T F(sda_softplus_from)(T a, T e)
{
    const T zero = 0;
    return (a > 0 ? a : zero) + F(sda_log1p_unit)(e);
}

static inline T F(sda_vsigmoid)(T a)
{
    return F(sda_sigmoid_from)(a, F(sda_exp_minus_abs)(a));
}

static inline T F(sda_vsoftplus)(T a)
{
    return F(sda_softplus_from)(a, F(sda_exp_minus_abs)(a));
}

/* Not inlined into the op's code, so that the compiler sees nothing but
   the restrict-qualified loop. */
__attribute__((noinline)) static void
F(sda_vsigmoid_loop)(npy_intp n, const T *__restrict__ a, T *__restrict__ out)
{
    #pragma omp simd
    for (npy_intp i = 0; i < n; ++i) out[i] = F(sda_vsigmoid)(a[i]);
}

__attribute__((noinline)) static void
F(sda_vsoftplus_loop)(npy_intp n, const T *__restrict__ a, T *__restrict__ out)
{
    #pragma omp simd
    for (npy_intp i = 0; i < n; ++i) out[i] = F(sda_vsoftplus)(a[i]);
}

static void F(sda_unary_stretch)(int f, npy_intp lo, npy_intp hi,
                                 const T *a, T *out)
{
    if (f == SDA_SIGMOID)
        F(sda_vsigmoid_loop)(hi - lo, a + lo, out + lo);
    else
        F(sda_vsoftplus_loop)(hi - lo, a + lo, out + lo);
}

/* z = f(x) element-wise, f = SDA_SIGMOID or SDA_SOFTPLUS: the body of
   sda.ops.elementwise.VectorisedUnary.  *z is reused when it fits.  Returns 0,
   or -1 with a Python exception set. */
static int F(sda_unary)(int f, PyArrayObject *x, PyArrayObject **z, int typenum)
{
    PyArrayObject *in = PyArray_GETCONTIGUOUS(x);
    if (!in) return -1;
    const int nd = PyArray_NDIM(in);
    const npy_intp *dims = PyArray_DIMS(in);
    int fresh = !*z || PyArray_NDIM(*z) != nd || *z == in
        || !PyArray_IS_C_CONTIGUOUS(*z) || PyArray_TYPE(*z) != typenum;
    for (int d = 0; !fresh && d < nd; ++d)
        fresh = PyArray_DIMS(*z)[d] != dims[d];
    if (fresh) {
        Py_XDECREF(*z);
        *z = (PyArrayObject *)PyArray_EMPTY(nd, (npy_intp *)dims, typenum, 0);
        if (!*z) { Py_DECREF(in); return -1; }
    }
    const npy_intp n = PyArray_SIZE(in);
    const T *a = (const T *)PyArray_DATA(in);
    T *out = (T *)PyArray_DATA(*z);
    const int nt = sda_threads(SDA_UNARY_WORK * (double)n);
    if (nt <= 1) {  /* no parallel region: it costs more than a row */
        F(sda_unary_stretch)(f, 0, n, a, out);
    } else {
        /* stretches starting at multiples of 16 elements (whole 64-byte
           lines); an element is computed the same way on any thread, so
           the results do not depend on their number */
        SDA_OMP(omp parallel num_threads(nt))
        {
            const npy_intp lines = n / 16;
            const int t = sda_thread(), k = sda_nthreads();
            F(sda_unary_stretch)(f, lines * t / k * 16,
                                 t == k - 1 ? n : lines * (t + 1) / k * 16,
                                 a, out);
        }
    }
    Py_DECREF(in);
    return 0;
}

#undef SDA_TAG
#undef T
#undef U
#undef C
#undef SDA_XMIN
#undef SDA_SHIFTER
#undef SDA_LN2_HI
#undef SDA_LN2_LO
#undef SDA_MANTISSA
#undef SDA_BIAS_MINUS_SHIFTER
#undef F
