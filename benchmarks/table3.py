"""Vincent et al. (2010), Table 3: SDAE-3, SAA-3, an RBF SVM and an MLP on the benchmark problems.

For each problem (MNIST and the eight of :mod:`sda.datasets`) four models
are trained, each as a sweep of :mod:`sda.sweep` (Dask runs the trials,
Optuna records them in ``OUTPUT/table3.db``, so a rerun continues where a
run stopped and a cluster can share the work):

* SDAE-3: three layers of dAs with masking noise, the level chosen on the
  validation set among ``--levels``, then fine-tuned (``train_trial``);
* SAA-3: the same with no corruption (stacked plain autoencoders);
* SVM-rbf: scikit-learn's ``SVC``, ``C`` and ``gamma`` chosen on the
  validation set;
* MLP: scikit-learn's ``MLPClassifier``, its L2 penalty chosen on the
  validation set.

Each model's test error is the one of its best validation error, printed
with a 95 % confidence interval (normal approximation of a binomial over
the test examples) next to the paper's figure, and drawn as a picture
(``OUTPUT/table3.png``, and ``table3.json``).

    python benchmarks/table3.py --quick           # a smoke run: minutes
    python benchmarks/table3.py                   # the full budget: hours

``--quick`` trains on the first 1,000 training examples (fewer epochs,
smaller layers) and scores 2,000 test examples: its figures say that the
pipeline works, not what the models reach.
"""

import argparse
import functools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np


#: Test error % of Vincent et al. (2010), Table 3 (SVM-rbf, SAA-3, DBN-3,
#: SDAE-3) and SDAE-3's masking level, as quoted (docs/benchmarks.md).
PAPER = {"mnist": (1.40, 1.40, 1.24, 1.28, 0.25),
         "basic": (3.03, 3.46, 3.11, 2.84, 0.10),
         "rot": (11.11, 10.30, 10.30, 9.53, 0.25),
         "bg-rand": (14.58, 11.28, 6.73, 10.30, 0.40),
         "bg-img": (22.61, 23.00, 16.31, 16.68, 0.25),
         "rot-bg-img": (55.18, 51.93, 47.39, 43.76, 0.25),
         "rect": (2.15, 2.41, 2.60, 1.99, 0.10),
         "rect-img": (24.04, 24.05, 22.50, 21.59, 0.25),
         "convex": (19.13, 18.41, 18.63, 19.06, 0.10)}
MODELS = ("SDAE-3", "SAA-3", "SVM-rbf", "MLP")

#: The budgets: the SdA trials' fixed parameters, the SVM and MLP grids.
BUDGETS = {
    "quick": {"sda": {"hidden_layers_sizes": [500, 500, 500],
                      "pretraining_epochs": 5, "training_epochs": 30,
                      "batch_size": 20, "pretrain_lr": 0.05,
                      "finetune_lr": 0.1, "n_train": 1000, "n_test": 2000,
                      "floatX": "float32"},
              "svm": {"C": [1.0, 10.0], "gamma": [0.01, 0.05]},
              "mlp": {"alpha": [1e-4, 1e-2]},
              "n_train": 1000, "n_test": 2000},
    "full": {"sda": {"hidden_layers_sizes": [1000, 1000, 1000],
                     "pretraining_epochs": 10, "training_epochs": 25,
                     "batch_size": 10, "pretrain_lr": 0.01,
                     "finetune_lr": 0.1, "floatX": "float32"},
             "svm": {"C": [1.0, 10.0, 100.0],
                     "gamma": [0.005, 0.015, 0.05]},
             "mlp": {"alpha": [1e-5, 1e-4, 1e-3, 1e-2]},
             "n_train": None, "n_test": None},
}


def _dataset(problem):
    return None if problem == "mnist" else problem


@functools.lru_cache(maxsize=2)
def _sets(problem):
    """A problem's three sets as arrays, read once per process."""
    import sda
    return sda.load_data(_dataset(problem), shared=False)


def _arrays(problem, n_train, n_test):
    (x, y), (vx, vy), (tx, ty) = _sets(problem)
    n_train = len(x) if n_train is None else n_train
    n_test = len(tx) if n_test is None else n_test
    return (x[:n_train], y[:n_train]), (vx, vy), (tx[:n_test], ty[:n_test])


def sklearn_trial(params):
    """One scikit-learn model on one problem: its validation and test
    errors (fractions) and seconds.  ``params``: ``problem``, ``model``
    ('svm' or 'mlp'), ``n_train``, ``n_test``, the model's own, and
    ``score_test`` (False: the test error is None; the SVM grid scores
    the test set for its best point only, see :func:`run_problem`)."""
    if params["model"] == "svm":
        return _svm_trial(params)
    from sklearn.neural_network import MLPClassifier
    (x, y), (vx, vy), (tx, ty) = _arrays(params["problem"],
                                         params["n_train"], params["n_test"])
    model = MLPClassifier(alpha=params["alpha"], random_state=0,
                          max_iter=200)
    started = time.perf_counter()
    model.fit(x, y)
    return {"valid_error": float(1 - model.score(vx, vy)),
            "test_error": (float(1 - model.score(tx, ty))
                           if params.get("score_test", True) else None),
            "seconds": time.perf_counter() - started}


sklearn_trial.PARAMETERS = ("problem", "model", "n_train", "n_test", "C",
                            "gamma", "alpha", "score_test")

#: Test examples scored at a time by the SVM: a block of KERNEL_ROWS x
#: (n_train + n_valid) float64 (98 MB for 12,000 examples).
KERNEL_ROWS = 1024
#: Above this many training and validation examples together the kernel
#: matrix (8 n^2 bytes: 1.2 GB for 12,000) is left to libsvm instead.
PRECOMPUTED_MAX = 15000


def _squared_distances(a, b):
    """||a_i - b_j||^2 as a float64 matrix, through one product (BLAS)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = np.einsum("ij,ij->i", a, a)[:, None] + np.einsum("ij,ij->i", b, b)
    d -= 2.0 * (a @ b.T)
    return np.maximum(d, 0.0, out=d)


@functools.lru_cache(maxsize=1)
def _train_distances(problem, n_train):
    (x, _), (vx, _), _ = _arrays(problem, n_train, 0)
    return _squared_distances(x, x), _squared_distances(vx, x)


def _svm_trial(params):
    """scikit-learn's RBF ``SVC`` given its kernel matrices: the model of
    ``SVC(kernel="rbf")``, exp(-gamma ||x - x'||^2), with the distances
    computed once a process by a matrix product rather than by libsvm one
    dot product at a time.  With ``score_test``, the model is fitted again
    on the training and validation sets together (as Larochelle et al.
    (2007) did for their SVMs once the parameters were chosen) and scored
    on the test set against its support vectors only (the other columns do
    not enter the decision function)."""
    from sklearn.svm import SVC
    (x, y), (vx, vy), (tx, ty) = _arrays(params["problem"],
                                         params["n_train"], params["n_test"])
    gamma = params["gamma"]
    started = time.perf_counter()
    if len(x) + len(vx) > PRECOMPUTED_MAX:
        return _svm_trial_by_libsvm(params, (x, y), (vx, vy), (tx, ty),
                                    started)
    d_train, d_valid = _train_distances(params["problem"], len(x))
    model = SVC(C=params["C"], kernel="precomputed")
    model.fit(np.exp(-gamma * d_train), y)
    out = {"valid_error": float(np.mean(
        model.predict(np.exp(-gamma * d_valid)) != vy)), "test_error": None}
    if params.get("score_test", True):
        x, y = np.concatenate([x, vx]), np.concatenate([y, vy])
        model.fit(np.exp(-gamma * _squared_distances(x, x)), y)
        support, wrong = model.support_, 0
        for start in range(0, len(tx), KERNEL_ROWS):
            rows = slice(start, start + KERNEL_ROWS)
            block = np.zeros((len(tx[rows]), len(x)))
            block[:, support] = np.exp(
                -gamma * _squared_distances(tx[rows], x[support]))
            wrong += int(np.sum(model.predict(block) != ty[rows]))
        out["test_error"] = wrong / len(tx)
    out["seconds"] = time.perf_counter() - started
    return out


def _svm_trial_by_libsvm(params, train, valid, test, started):
    """:func:`_svm_trial` for sets too large for a kernel matrix (MNIST's
    50,000 training examples): libsvm computes the kernel itself."""
    from sklearn.svm import SVC
    model = SVC(C=params["C"], gamma=params["gamma"], cache_size=2000)
    model.fit(*train)
    out = {"valid_error": float(1 - model.score(*valid)), "test_error": None}
    if params.get("score_test", True):
        model.fit(np.concatenate([train[0], valid[0]]),
                  np.concatenate([train[1], valid[1]]))
        out["test_error"] = float(1 - model.score(*test))
    out["seconds"] = time.perf_counter() - started
    return out


def interval(error, n):
    """The 95 % confidence interval of a test error rate over ``n``
    examples (normal approximation), as (low, high) fractions."""
    half = 1.96 * math.sqrt(max(error * (1 - error), 0.0) / n)
    return max(0.0, error - half), min(1.0, error + half)


def _best(study, keep=lambda params: True):
    """The completed trial of ``study`` (among those whose parameters
    ``keep``) with the lowest validation error, or None."""
    done = [t for t in study.trials
            if t.state.name == "COMPLETE" and keep(t.params)]
    if not done:
        return None
    best = min(done, key=lambda t: t.user_attrs["valid_error"])
    return {"valid_error": best.user_attrs["valid_error"],
            "test_error": best.user_attrs["test_error"],
            "params": dict(best.params)}


def run_problem(problem, budget, levels, storage, say, client):
    """The four models on ``problem``: {model: best result or None}."""
    from sda.sweep import run_sweep
    from sda.sweep.trial import train_trial
    b = BUDGETS[budget]

    def sweep(name, trial, space, fixed):
        return run_sweep(space, trial=trial, storage=storage,
                         study_name=f"{budget}-{problem}-{name}",
                         fixed=fixed, client=client, say=say)

    # SAA-3 is SDAE-3 at level 0: one sweep, so that its trials share
    # the workers with the others'
    sdas = sweep("SdA", train_trial,
                 {"corruption_levels": sorted({0.0, *levels})},
                 {**b["sda"], "dataset": _dataset(problem)})
    out = {"SDAE-3": _best(sdas, lambda p: p["corruption_levels"] > 0),
           "SAA-3": _best(sdas, lambda p: p["corruption_levels"] == 0)}
    base = {"problem": problem, "n_train": b["n_train"],
            "n_test": b["n_test"]}
    # the SVM's grid on validation only: scoring 50,000 test examples
    # costs more than a fit, and only the chosen point needs it
    svm = {**base, "model": "svm", "score_test": False}
    best = _best(sweep("SVM-rbf", sklearn_trial, b["svm"], svm))
    if best is not None:
        point = best["params"]
        best = _best(sweep(f"SVM-rbf-test-C{point['C']:g}"
                           f"-gamma{point['gamma']:g}", sklearn_trial,
                           {k: [v] for k, v in point.items()},
                           {**svm, "score_test": True}))
    out["SVM-rbf"] = best
    out["MLP"] = _best(sweep("MLP", sklearn_trial, b["mlp"],
                             {**base, "model": "mlp"}))
    return out


def table_lines(results, n_tests):
    """The table as text: per problem, ours (with its interval) next to
    the paper's, in test error %."""
    head = f"{'problem':11}" + "".join(f" {m:>24}" for m in MODELS)
    lines = [head, f"{'':11}" + "".join(f" {'ours [95% CI] / paper':>24}"
                                       for _ in MODELS)]
    for problem, found in results.items():
        paper = dict(zip(("SVM-rbf", "SAA-3", "DBN-3", "SDAE-3"),
                         PAPER[problem][:4]))
        paper["MLP"] = None
        cells = []
        for m in MODELS:
            r = found.get(m)
            if r is None:
                cells.append(f"{'-':>24}")
                continue
            e = r["test_error"]
            lo, hi = interval(e, n_tests[problem])
            ref = "-" if paper[m] is None else f"{paper[m]:.2f}"
            cells.append(f" {100 * e:5.2f} [{100 * lo:5.2f}, {100 * hi:5.2f}]"
                         f" / {ref:>5}")
        lines.append(f"{problem:11}" + "".join(cells))
    return lines


def draw(results, n_tests, path):
    """The table as a picture: one panel per problem, ours with intervals
    and the paper's figures as crosses."""
    from sda.viz import figure, save_figure
    problems = list(results)
    fig = figure(figsize=(2.2 * len(problems), 3.2))
    for k, problem in enumerate(problems):
        ax = fig.add_subplot(1, len(problems), k + 1)
        paper = dict(zip(("SVM-rbf", "SAA-3", "DBN-3", "SDAE-3"),
                         PAPER[problem][:4]))
        for i, m in enumerate(MODELS):
            r = results[problem].get(m)
            if r is not None:
                e = r["test_error"]
                lo, hi = interval(e, n_tests[problem])
                ax.errorbar([i], [100 * e], yerr=[[100 * (e - lo)],
                                                  [100 * (hi - e)]],
                            fmt="o", color="C0")
            if paper.get(m) is not None:
                ax.plot([i], [paper[m]], "x", color="C3")
        ax.set_xticks(range(len(MODELS)), MODELS, rotation=60, fontsize=7)
        ax.set_title(problem, fontsize=9)
        if k == 0:
            ax.set_ylabel("test error % (o ours, x paper)")
    fig.tight_layout()
    return save_figure(fig, path)


def _cluster(address):
    """One Dask client for every sweep: the scheduler at ``address``, or a
    local cluster on the loopback, one single-threaded worker a core."""
    import os
    from dask.distributed import Client, LocalCluster
    if address:
        return Client(address)
    return Client(LocalCluster(n_workers=os.cpu_count() or 1,
                               threads_per_worker=1, host="127.0.0.1",
                               dashboard_address=None))


def _run(problems, budget, levels, storage, client):
    results, n_tests = {}, {}
    for problem in problems:
        # generated (and cached) here once, not in each worker
        n_test = BUDGETS[budget]["n_test"] or len(_sets(problem)[2][1])
        n_tests[problem] = min(n_test, len(_sets(problem)[2][1]))
        print(f"-- {problem}", flush=True)
        results[problem] = run_problem(
            problem, budget, levels, storage,
            lambda line: print("  ", line, flush=True), client)
    return results, n_tests


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="the smoke-run budget (minutes)")
    ap.add_argument("--problems", default=None,
                    help="comma-separated, of " + ", ".join(PAPER) + " (default: "
                         "all with --quick, else all but mnist, whose 50,000 "
                         "training examples take the SVM grid hours)")
    ap.add_argument("--levels", default="0.1,0.25,0.4",
                    help="SDAE-3's masking levels to choose from")
    ap.add_argument("--output-folder", type=Path, default=Path("table3"))
    ap.add_argument("--client", default=None,
                    help="a Dask scheduler address (default: a local "
                         "cluster, one worker a core)")
    a = ap.parse_args(argv)
    if a.problems is None:
        a.problems = ",".join(p for p in PAPER if a.quick or p != "mnist")
    problems = [p for p in a.problems.split(",") if p]
    for p in problems:
        if p not in PAPER:
            ap.error(f"--problems: {p!r} is not one of {', '.join(PAPER)}")
    budget = "quick" if a.quick else "full"
    levels = [float(v) for v in a.levels.split(",")]
    a.output_folder.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{a.output_folder / 'table3.db'}"
    started = time.perf_counter()
    client = _cluster(a.client)
    try:
        results, n_tests = _run(problems, budget, levels, storage, client)
    finally:
        client.close()
        if client.cluster is not None:
            client.cluster.close()
    lines = table_lines(results, n_tests)
    print("\n".join(lines))
    (a.output_folder / "table3.json").write_text(json.dumps(
        {"budget": budget, "results": results, "n_test": n_tests,
         "paper": {p: PAPER[p] for p in problems}}, indent=1))
    picture = draw(results, n_tests, a.output_folder / "table3.png")
    print(f"{budget} budget: {time.perf_counter() - started:.0f} s; "
          f"{picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
