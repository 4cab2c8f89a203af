/* One thread policy for every C op of sda: the fused steps
   (sda_fused.h) and the matrix products (sda_blas.h).

   A call gets one thread, or OpenMP's count (OMP_NUM_THREADS, by default
   the cores), whichever has lately done more work per second.  A call
   split over threads waits for all of them, so when another process takes
   a core it can take a hundred times longer (measured: two trainings on
   two cores, 16 and 1427 steps/s, against about 700 each on one thread
   each); and a team's threads spin for some milliseconds after a call, in
   OpenMP's default wait policy, taking cycles from the thread that goes on
   with the work.  So what is measured is not a call's time but the work
   done per second of the program's time, in windows of at least 8 calls
   and 20 ms: all of it, Python and the spinning included.

   The machine is loaded or not for the whole process, and a step's ops
   must change together (one op left on several threads keeps them
   spinning), so there is one state for the process, which every compiled
   module finds through sda.ops.threads (a capsule).  Now and then a
   window runs the other way, after one window that is not counted
   (threads waking up, or spinning down); the way switches if that was
   20 % faster, else the next trial comes twice as late (after 4 windows,
   then up to 512).  A window 20 % slower than the other way's last trial
   starts one at once, and so does a window on several threads 30 % slower
   than the average of its way (another process has started).  A gap of
   0.1 s between calls (the program doing something else) starts a new
   window; a window whose work per call differs by 10 % from the last ones
   (another step, another layer) forgets the rates measured, which belong
   to the other work.

   Only calls of 2^18 multiply-adds or more are ever split: below that
   the threads cost more than they save. */
#ifndef SDA_THREADS_H
#define SDA_THREADS_H

#include <time.h>

/* The threading pragmas; without OpenMP the parallel region runs once, as
   thread 0 of 1 (the `omp simd` loops are vectorised either way). */
#ifdef _OPENMP
#define SDA_OMP(directive) _Pragma(#directive)
#include <omp.h>
static int sda_thread(void) { return omp_get_thread_num(); }
static int sda_nthreads(void) { return omp_get_num_threads(); }
static int sda_max_threads(void)
{
    return omp_in_parallel() ? 1 : omp_get_max_threads();
}
#else
#define SDA_OMP(directive)
static int sda_thread(void) { return 0; }
static int sda_nthreads(void) { return 1; }
static int sda_max_threads(void) { return 1; }
#endif

static double sda_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define SDA_MIN_WORK (1 << 18)
#define SDA_WINDOW_S 0.02
#define SDA_WINDOW_CALLS 8
#define SDA_PAUSE_S 0.1

/* The policy's state, one for the process (sda.ops.threads holds it; its
   ctypes mirror, _Pace, must match this field for field). */
typedef struct {
    int forced;             /* 0: the policy's choice; 1: one thread; 2: all */
    int threaded;           /* the way calls run, but in trials */
    int way;                /* the way the current window runs */
    int trial;              /* 0: none; 1: settling; 2: measuring */
    int settle;             /* the next window is not counted */
    int ready;              /* set up */
    double rate[2];         /* work per second: one thread, several */
    double mix;             /* the work per call the rates were measured on */
    double win_start, win_work, last;
    long win_calls, windows, next_try, interval, trials, switches;
} sda_pace;

#define SDA_CAPSULE "sda.ops.threads._PACE"

/* The process's policy state: sda.ops.threads._PACE, or (if that cannot
   be had) this module's own. */
static sda_pace *sda_pace_state(void)
{
    static sda_pace *state = NULL;
    static sda_pace own;
    if (!state) {
        PyObject *module = PyImport_ImportModule("sda.ops.threads");
        PyObject *capsule = module ? PyObject_GetAttrString(module, "_PACE")
                                   : NULL;
        state = capsule ? (sda_pace *)PyCapsule_GetPointer(capsule,
                                                           SDA_CAPSULE)
                        : NULL;
        Py_XDECREF(capsule);
        Py_XDECREF(module);
        if (!state) {
            PyErr_Clear();
            state = &own;
        }
    }
    if (!state->ready) {
        state->threaded = state->way = 1;
        state->next_try = state->interval = 4;
        state->ready = 1;
    }
    return state;
}

/* A window of calls has ended, at `rate` work per second: count it. */
static void sda_pace_window(sda_pace *p, double rate, double mix)
{
    const int way = p->way;
    ++p->windows;
    if (p->mix == 0 || mix > 1.1 * p->mix || mix < p->mix / 1.1) {
        /* other work (another step, another layer): rates measured on the
           old work say nothing of the new; the way stays, and the trials
           keep their schedule */
        p->mix = mix;
        p->rate[0] = p->rate[1] = 0;
        p->trial = p->settle = 0;
        p->way = p->threaded;
        return;
    }
    if (p->trial == 1) {        /* threads waking up, or spinning down */
        p->trial = 2;
        return;
    }
    if (p->trial == 2) {
        p->trial = 0;
        p->rate[way] = rate;
        if (rate > 1.2 * p->rate[!way]) {
            p->threaded = way;
            p->interval = 4;
            ++p->switches;
        } else {
            if (p->interval < 512) p->interval *= 2;
            p->way = p->threaded;
            p->settle = 1;
        }
        p->next_try = p->windows + p->interval;
        return;
    }
    if (p->settle) {
        p->settle = 0;
        return;
    }
    /* a window 30 % slower than its way's average on several threads:
       another process has taken a core.  On one thread it means the
       machine is busier still, where a trial of several threads would
       only wait for the lost core. */
    const int dropped = way && p->rate[way] > 0 && rate < 0.7 * p->rate[way];
    p->rate[way] = p->rate[way] == 0 ? rate
                                     : p->rate[way] + (rate - p->rate[way]) / 4;
    if (p->windows >= p->next_try || dropped
            || (p->rate[!way] > 0 && p->rate[way] < 0.8 * p->rate[!way])) {
        p->trial = 1;
        p->way = !way;
        ++p->trials;
    }
}

/* How many threads a call of `work` multiply-adds gets. */
static int sda_threads(double work)
{
    const int nmax = work < SDA_MIN_WORK ? 1 : sda_max_threads();
    if (nmax <= 1) return 1;
    sda_pace *p = sda_pace_state();
    if (p->forced) return p->forced == 1 ? 1 : nmax;
    const double now = sda_now();
    if (now - p->last > SDA_PAUSE_S) {  /* a pause of the program: new window */
        p->win_start = now;
        p->win_work = 0;
        p->win_calls = 0;
    } else if (p->win_calls >= SDA_WINDOW_CALLS
               && now - p->win_start >= SDA_WINDOW_S) {
        sda_pace_window(p, p->win_work / (now - p->win_start),
                        p->win_work / p->win_calls);
        p->win_start = now;
        p->win_work = 0;
        p->win_calls = 0;
    }
    p->last = now;
    p->win_work += work;
    ++p->win_calls;
    return p->way ? nmax : 1;
}

#endif
