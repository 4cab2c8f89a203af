/* One thread policy for every C op of sda: the fused steps
   (sda_fused.h), the matrix products (sda_blas.h) and the vectorised
   sigmoid and softplus (sda_vectorised.h).

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

   Trials alone find a lost core late and lose time finding it (under one
   busy loop, cells with trials ran at 0.79-0.86x one thread in
   benchmarks/bench_sda.py --load 1), so every 0.1 s the policy also
   looks at the machine: the cores other processes used since the last
   look (/proc/stat; nothing is known elsewhere, and trials decide
   alone).  When they leave no core free for a second
   thread, calls go to one thread at once, and no trial of several is
   made until a core is free; the several threads are never more than
   the free cores.

   Only calls of 2^18 multiply-adds or more are ever split: below that
   the threads cost more than they save. */
#ifndef SDA_THREADS_H
#define SDA_THREADS_H

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

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

/* The machine's processors (online ones, whatever the process may use). */
static int sda_online_cpus(void)
{
    static int cpus = 0;
    if (!cpus) {
        const long online = sysconf(_SC_NPROCESSORS_ONLN);
        cpus = online < 1 ? 1 : (int)online;
    }
    return cpus;
}

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
#define SDA_LOOK_S 0.1
#define SDA_LOOK_MAX_S 1.0

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
    /* the machine, looked at every SDA_LOOK_S: the cores other processes
       used (-1: unknown), the cores left free (0: unknown), and the last
       look's time, machine busy time and this process's CPU time */
    double others;
    long free_cores;
    double look_at, look_busy, look_own;
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
        state->others = -1;
        state->ready = 1;
    }
    return state;
}

/* The machine's busy time in seconds, all processors together, from the
   first line of /proc/stat (user, nice, system, irq, softirq and steal:
   time a hypervisor gave to others is a core taken too); -1 where there is
   no /proc/stat. */
static double sda_machine_busy(void)
{
    static double hz = 0;
    char buf[512];
    const int fd = open("/proc/stat", O_RDONLY);
    if (fd < 0) return -1;
    const ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got < 5 || buf[0] != 'c' || buf[1] != 'p' || buf[2] != 'u') return -1;
    buf[got] = 0;
    if (hz == 0) hz = (double)sysconf(_SC_CLK_TCK);
    char *at = buf + 3, *end;
    double field[8];
    for (int i = 0; i < 8; ++i) {
        field[i] = (double)strtoull(at, &end, 10);
        if (end == at) return -1;
        at = end;
    }
    /* user nice system idle iowait irq softirq steal */
    return (field[0] + field[1] + field[2] + field[5] + field[6] + field[7])
           / hz;
}

/* Looks at the machine, at most every SDA_LOOK_S: how many cores other
   processes used since the last look (the machine's busy time less this
   process's CPU time, its spinning threads included), and so how many
   are free.  /proc/stat counts in ticks of 10 ms a processor, so a look
   spans at least 0.1 s (2 ticks of error in 20 on two cores); one after a
   pause of more than a second starts afresh, its average would be old. */
static void sda_pace_look(sda_pace *p, double now)
{
    if (now - p->look_at < SDA_LOOK_S) return;
    const double busy = sda_machine_busy();
    if (busy < 0) {
        p->look_at = now;
        return;
    }
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    const double own = t.tv_sec + 1e-9 * t.tv_nsec;
    if (p->look_busy > 0 && now - p->look_at <= SDA_LOOK_MAX_S) {
        double others = (busy - p->look_busy - (own - p->look_own))
                        / (now - p->look_at);
        p->others = others < 0 ? 0 : others;
        /* a core 60 % taken is not free: the thread given it would wait */
        const long left = (long)(sda_online_cpus() - p->others + 0.4);
        p->free_cores = left < 1 ? 1 : left;
    }
    p->look_at = now;
    p->look_busy = busy;
    p->look_own = own;
}

/* A window of calls has ended, at `rate` work per second: count it. */
static void sda_pace_window(sda_pace *p, double rate, double mix)
{
    const int way = p->way;
    const int crowded = p->free_cores == 1;
    ++p->windows;
    if (crowded && (p->threaded || way)) {
        /* no core free for a second thread (sda_pace_look): one thread at
           once, not after a trial, and none till a core is free; the next
           window, in which the threads spin down, is not counted */
        p->switches += p->threaded;
        p->threaded = p->way = p->trial = 0;
        p->settle = 1;
        p->interval = 4;
        return;
    }
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
    if (crowded) {  /* a trial of several threads once a core is free */
        p->next_try = p->windows + 1;
        return;
    }
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
        sda_pace_look(p, now);
        sda_pace_window(p, p->win_work / (now - p->win_start),
                        p->win_work / p->win_calls);
        p->win_start = now;
        p->win_work = 0;
        p->win_calls = 0;
    }
    p->last = now;
    p->win_work += work;
    ++p->win_calls;
    if (!p->way) return 1;
    /* never more threads than free cores (when known) */
    return p->free_cores > 1 && p->free_cores < nmax ? (int)p->free_cores
                                                     : nmax;
}

#endif
