"""Smoke check of an installed wheel, run from a folder outside the checkout.

The embedded MNIST must load from the installed package, one step of each
training function must run, the fused C steps included (their C is package
data), and a benchmark problem must be generated and cached.
"""

import math
import os
from pathlib import Path

# the benchmark problems' cache: here, in the temporary folder of the check
os.environ["SDA_DATASETS"] = str(Path.cwd() / "datasets-cache")

import sda  # noqa: E402

here = Path(sda.__file__).resolve().parent
assert "site-packages" in here.parts, f"sda imported from {here}, not a wheel"
datasets = sda.load_data()
assert sda.data.DEFAULT_DATASET.is_relative_to(here), sda.data.DEFAULT_DATASET
train_x = datasets[0][0]
model = sda.SdA(numpy_rng=1, n_ins=784, hidden_layers_sizes=[20], n_outs=10,
                corruption_levels=[0.1])
cost = model.pretraining_functions(train_x, batch_size=20)[0](0)
# minibatch 1 runs the fused C step, compiled from the wheel's sda/ops/c headers
fused = model.pretraining_functions(train_x, batch_size=1)[0]
assert "DenoisingSGDStep" in str(fused.function.maker.fgraph.toposort())
assert math.isfinite(fused(0))
train_fn, valid_score, _ = model.build_finetune_functions(datasets, 20, 0.1)
nll = train_fn(0)
assert math.isfinite(cost) and math.isfinite(nll), (cost, nll)
# a benchmark problem by name, from the installed package's MNIST (the
# image ones need the sklearn extra, not installed here)
basic = sda.load_data("basic", shared=False)
assert [len(x) for x, _ in basic] == [10000, 2000, 50000]
assert len(os.listdir(os.environ["SDA_DATASETS"])) == 1
print(f"wheel smoke check passed: sda {sda.__version__} from {here}, "
      f"pretraining cost {float(cost):.3f}, fine-tuning NLL {float(nll):.3f}, "
      f"{len(model.predict(datasets[2][0].get_value()[:100]))} predictions")
