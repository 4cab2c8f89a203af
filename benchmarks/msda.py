"""mSDA features + a linear classifier against an SdA and against the classifier on raw pixels.

Chen et al. (2012) report that the marginalized SDA's features, fitted in
closed form, bring a linear classifier close to what an SdA reaches, in far
less time.  This script measures the three side by side on one problem
(MNIST by default, or any of ``sda.datasets``): test and validation error
and wall time of each, printed as a Markdown table (docs/msda.md).

* raw: scikit-learn's ``LogisticRegression`` on the pixels;
* mSDA: ``sda.mSDA`` (``--layers``, ``--noise``), its concatenated features
  (input and every layer) into the same classifier;
* SdA: ``sda.SdA`` pretrained and fine-tuned with ``examples/SdA.py
  --quick``'s recipe (three layers of ``--sda-width``, minibatches of 20).

    python benchmarks/msda.py                       # MNIST, all three
    python benchmarks/msda.py --dataset basic --no-sda
    python benchmarks/msda.py --n-train 5000        # a quick look

Each row's time is the wall time of fitting it on this machine, including
the classifier; the classifier's ``C`` is fixed (``--C``), not searched.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytensor


def _classifier_error(train, valid, test, C):
    from sklearn.linear_model import LogisticRegression
    clf = LogisticRegression(C=C, max_iter=1000, tol=1e-4)
    clf.fit(*train)
    return [float(np.mean(clf.predict(x) != y)) for x, y in (valid, test)]


def raw_row(sets, C):
    start = time.perf_counter()
    valid, test = _classifier_error(*sets, C)
    return {"model": "logistic regression on pixels", "valid": valid,
            "test": test, "seconds": time.perf_counter() - start}


def msda_row(sets, layers, noise, C):
    import sda
    (tx, ty), (vx, vy), (sx, sy) = sets
    start = time.perf_counter()
    model = sda.mSDA(n_layers=layers, noise=noise).fit(tx)
    fitted = time.perf_counter() - start
    features = [(model.transform(x), y) for x, y in sets]
    valid, test = _classifier_error(*features, C)
    return {"model": f"mSDA-{layers} (noise {noise}) + logistic regression",
            "valid": valid, "test": test,
            "seconds": time.perf_counter() - start, "fit_seconds": fitted}


def sda_row(sets, width, seed=89677):
    import sda
    from sda.train import finetune, pretrain
    start = time.perf_counter()
    model = sda.SdA(numpy_rng=np.random.RandomState(seed),
                    n_ins=sets[0][0].shape[1],
                    hidden_layers_sizes=[width] * 3,
                    n_outs=int(max(y.max() for _, y in sets)) + 1,
                    corruption_levels=[0.1, 0.2, 0.3])
    # examples/SdA.py --quick
    history = pretrain(model, sets[0][0], epochs=5, batch_size=20,
                       learning_rate=0.1)
    finetune(model, sets, epochs=4, batch_size=20, learning_rate=0.1,
             history=history)
    return {"model": f"SdA-3 ({width} units a layer, SdA.py --quick)",
            "valid": float(history.best_validation_error),
            "test": float(history.test_error),
            "seconds": time.perf_counter() - start}


def table(rows, n_test):
    lines = ["| model | validation error (%) | test error (%) | seconds |",
             "|---|---|---|---|"]
    for r in rows:
        half = 196 * np.sqrt(r["test"] * (1 - r["test"]) / n_test)
        lines.append(f"| {r['model']} | {100 * r['valid']:.2f} | "
                     f"{100 * r['test']:.2f} ± {half:.2f} | "
                     f"{r['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=None,
                    help="a problem of sda.datasets (default: MNIST)")
    ap.add_argument("--n-train", type=int, default=None,
                    help="train on the first N training examples only")
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--C", type=float, default=1.0,
                    help="inverse L2 penalty of the logistic regressions")
    ap.add_argument("--sda-width", type=int, default=1000)
    ap.add_argument("--no-sda", action="store_true",
                    help="leave the SdA out")
    ap.add_argument("--output", type=Path, default=None,
                    help="also write the rows to this JSON file")
    a = ap.parse_args(argv)
    import sda
    with pytensor.config.change_flags(floatX="float32"):
        sets = [tuple(part) for part in sda.load_data(a.dataset,
                                                      shared=False)]
        if a.n_train:
            sets[0] = (sets[0][0][:a.n_train], sets[0][1][:a.n_train])
        print(f"{a.dataset or 'MNIST'}: {len(sets[0][0])} training, "
              f"{len(sets[1][0])} validation, {len(sets[2][0])} test "
              f"examples", file=sys.stderr)
        rows = [raw_row(sets, a.C)]
        print(table(rows, len(sets[2][0])), file=sys.stderr)
        rows.append(msda_row(sets, a.layers, a.noise, a.C))
        print(f"mSDA fitted in {rows[-1]['fit_seconds']:.1f} s",
              file=sys.stderr)
        if not a.no_sda:
            rows.append(sda_row(sets, a.sda_width))
    print(table(rows, len(sets[2][0])))
    if a.output:
        a.output.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
