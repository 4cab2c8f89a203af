"""Sweeps on Dask, recorded by Optuna: every point run once, whatever dies.

Loopback only; every wait has a timeout.  The PostgreSQL test starts its own
server on 127.0.0.1 (.ci/run installs PostgreSQL).
"""

import glob
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna", reason="the extra sda[sweep]")
distributed = pytest.importorskip("distributed", reason="the extra sda[sweep]")

import cloudpickle  # noqa: E402  (with distributed)

import sda.sweep  # noqa: E402
import sweep_trials  # noqa: E402
from sda.sweep import run_sweep, train_trial  # noqa: E402

# the workers get the test trials by value: they need not find this folder
cloudpickle.register_pickle_by_value(sweep_trials)

# clusters of subprocesses: left out of a quick local run (-m "not slow")
pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
GRID = {"x": [1, 2], "y": [0.0, 0.5]}
#: A second of real training: a small SdA on 500 MNIST examples, enough to
#: leave chance (90 % error) far behind: 35 % with 20 hidden units.
TINY = {"pretraining_epochs": 1, "training_epochs": 5, "batch_size": 20,
        "n_train": 500, "pretrain_lr": 0.1, "finetune_lr": 0.3,
        "floatX": "float32"}


def sqlite(tmp_path, name="sweep.db"):
    return f"sqlite:///{tmp_path / name}"


def completed(study):
    """How many COMPLETE trials each point has."""
    return Counter(tuple(sorted(t.params.items())) for t in study.get_trials(
        states=(optuna.trial.TrialState.COMPLETE,)))


def assert_each_point_once(study, space=GRID):
    counts = completed(study)
    assert len(counts) == sda.sweep.space.grid_size(space)
    assert set(counts.values()) == {1}, counts


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.1)


def listening(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def subprocess_env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(TESTS), os.environ.get("PYTHONPATH", "")]))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers, as on a real cluster."""
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    common = ["--host", "127.0.0.1", "--no-dashboard"]
    log = open(folder / "log.txt", "w")
    procs = [subprocess.Popen(
        [sys.executable, "-m", "dask", "scheduler", "--port", "0",
         "--scheduler-file", str(info), *common], cwd=folder,
        stdout=log, stderr=subprocess.STDOUT, env=subprocess_env(),
        start_new_session=True)]
    try:
        wait_for(info.exists, 60, "the scheduler")
        address = json.loads(info.read_text())["address"]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "dask", "worker", address,
             "--nworkers", "2", "--nthreads", "1", "--death-timeout", "60",
             *common], cwd=folder, stdout=log, stderr=subprocess.STDOUT,
            env=subprocess_env(), start_new_session=True))
        client = distributed.Client(address, timeout=60)
        client.wait_for_workers(2, timeout=120)
        yield address, client
        client.shutdown()  # scheduler and workers
        for p in procs:
            p.wait(timeout=60)
        port = int(address.rsplit(":", 1)[1])
        assert not listening(port), f"the scheduler still listens on {port}"
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
        log.close()


def test_train_trial_is_deterministic_and_plainly_picklable():
    params = {"hidden_layers_sizes": [20], "corruption_levels": 0.2, **TINY}
    first, second = train_trial(params), train_trial(params)
    assert first["valid_error"] == second["valid_error"] < 0.5
    assert first["test_error"] == second["test_error"]
    assert first["epochs"] == 5 and len(first["pretraining_costs"]) == 1
    # pickled by reference: a name, not a closure over data
    assert len(pickle.dumps(train_trial)) < 100
    with pytest.raises(ValueError, match="unknown parameter.*'n_hiden'"):
        train_trial({"n_hiden": 5})


def test_a_grid_on_the_local_default(tmp_path, monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    space = {"corruption_levels": [0.0, 0.3], "hidden_layers_sizes": [[10],
                                                                     [20]]}
    lines = []
    study = run_sweep(space, storage=sqlite(tmp_path), fixed=TINY,
                      timeout=600, say=lines.append)
    assert_each_point_once(study, space)
    trials = study.get_trials()
    assert all(0 < t.value < 0.7 for t in trials)  # chance: 0.9
    assert len({t.user_attrs["worker"] for t in trials}) >= 2
    assert lines[-1].startswith("trials 4/4; best valid_error")
    rows = sda.sweep.results_table(study, space)
    assert sorted(r["hidden_layers_sizes"] for r in rows) == [[10], [10],
                                                             [20], [20]]


def test_a_real_cluster_by_address_and_by_environment(cluster, tmp_path,
                                                      monkeypatch):
    address, _ = cluster
    fixed = {"sleep": 0.3}
    study = run_sweep(GRID, trial=sweep_trials.quadratic, client=address,
                      storage=sqlite(tmp_path), fixed=fixed, timeout=120)
    assert_each_point_once(study)
    assert sorted(t.value for t in study.get_trials()) == [0, 0.5, 1, 1.5]
    assert len({t.user_attrs["pid"] for t in study.get_trials()}) == 2
    assert study.best_params == {"x": 1, "y": 0.0}

    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    again = run_sweep(GRID, trial=sweep_trials.quadratic, fixed=fixed,
                      storage=sqlite(tmp_path), study_name="by-env",
                      timeout=120)
    assert_each_point_once(again)
    # a finished sweep run again runs nothing
    assert len(run_sweep(GRID, trial=sweep_trials.quadratic, fixed=fixed,
                         storage=sqlite(tmp_path), study_name="by-env",
                         timeout=120).get_trials()) == 4


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_random_and_tpe_samplers_finish_n_trials(cluster, tmp_path,
                                                 sampler):
    address, _ = cluster
    space = {"x": [0, 1, 2, 3], "y": [0.0, 0.5, 1.0]}
    study = run_sweep(space, trial=sweep_trials.quadratic, sampler=sampler,
                      n_trials=5, client=address, storage=sqlite(tmp_path),
                      timeout=120)
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 5
    assert all(t.value == (t.params["x"] - 1) ** 2 + t.params["y"]
               for t in trials)
    # the same call again has nothing left to do; a larger n_trials adds
    assert len(run_sweep(space, trial=sweep_trials.quadratic,
                         sampler=sampler, n_trials=5, client=address,
                         storage=sqlite(tmp_path)).get_trials()) == 5
    assert len(run_sweep(space, trial=sweep_trials.quadratic,
                         sampler=sampler, n_trials=7, client=address,
                         storage=sqlite(tmp_path)).get_trials()) == 7


def test_a_grid_can_be_cut_short_and_finished_later(cluster, tmp_path):
    address, _ = cluster
    first = run_sweep(GRID, trial=sweep_trials.quadratic, n_trials=2,
                      client=address, storage=sqlite(tmp_path), timeout=120)
    assert len(completed(first)) == 2
    assert_each_point_once(run_sweep(GRID, trial=sweep_trials.quadratic,
                                     client=address,
                                     storage=sqlite(tmp_path), timeout=120))


def test_a_trial_that_kills_its_worker_runs_again_elsewhere(cluster,
                                                            tmp_path):
    address, _ = cluster
    study = run_sweep(GRID, trial=sweep_trials.kill_worker_once,
                      client=address, storage=sqlite(tmp_path),
                      fixed={"markers": str(tmp_path)}, timeout=180)
    assert (tmp_path / "killed-2-0.0").exists()  # it did kill one
    assert_each_point_once(study)
    assert len(study.get_trials()) == 4  # nothing FAIL, nothing twice


def test_failing_trials_are_retried_then_marked_fail(cluster, tmp_path):
    address, _ = cluster
    fixed = {"markers": str(tmp_path)}
    study = run_sweep(GRID, trial=sweep_trials.raise_once, client=address,
                      storage=sqlite(tmp_path), fixed=fixed, retries=1,
                      timeout=120)
    assert_each_point_once(study)  # each raised once, then passed

    for name, trial, message in [
            ("raises", sweep_trials.always_raise_at_2, "boom at x=2"),
            ("nan", sweep_trials.nan_at_2, "valid_error=nan, not a finite")]:
        study = run_sweep(GRID, trial=trial, client=address,
                          storage=sqlite(tmp_path), study_name=name,
                          fixed=fixed, timeout=120)
        states = {tuple(t.params.values()): t for t in study.get_trials()}
        assert len(states) == 4
        for (x, _), t in states.items():
            if x == 2:
                assert t.state.name == "FAIL"
                assert message in t.user_attrs["traceback"]
            else:
                assert t.state.name == "COMPLETE"


def test_a_killed_driver_is_finished_by_a_rerun(cluster, tmp_path):
    address, _ = cluster
    storage = sqlite(tmp_path)
    space = {"x": [1, 2, 3], "y": [0.0, 0.5]}
    driver = subprocess.Popen(
        [sys.executable, "-c", f"""
import cloudpickle, sda.sweep, sweep_trials
cloudpickle.register_pickle_by_value(sweep_trials)
sda.sweep.run_sweep({space!r}, trial=sweep_trials.quadratic,
                    client={address!r}, storage={storage!r},
                    fixed={{"sleep": 1.0}}, timeout=120)
"""], env=subprocess_env(), start_new_session=True)
    try:
        def two_done():
            try:
                study = optuna.load_study(study_name="sda", storage=storage)
            except KeyError:  # not created yet
                return False
            return sum(t.state.name == "COMPLETE"
                       for t in study.get_trials()) >= 2
        wait_for(two_done, 120, "two finished trials")
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(timeout=30)
    study = run_sweep(space, trial=sweep_trials.quadratic, client=address,
                      storage=storage, fixed={"sleep": 0.1}, timeout=120)
    assert_each_point_once(study, space)
    # the trials the killed driver left: FAIL, without the traceback of a
    # recorded failure
    interrupted = [t for t in study.get_trials()
                   if sda.sweep.driver.interrupted(t)]
    assert interrupted and all(t.state.name == "FAIL"
                               and "traceback" not in t.user_attrs
                               for t in interrupted)


# -- PostgreSQL -------------------------------------------------------------------

def _pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture
def postgres():
    """A PostgreSQL server on 127.0.0.1 in a temporary folder; its URL."""
    # the URL the docs show, with the driver of the extra sda[sweep]
    pytest.importorskip("psycopg", reason="psycopg (the extra sda[sweep])")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL is not installed here (.ci/run installs "
                    "the Debian package postgresql)")
    as_user = []
    folder = Path(tempfile.mkdtemp(prefix="sda-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without runuser: cannot start "
                        "PostgreSQL as another user")
        shutil.chown(folder, "postgres")
        folder.chmod(0o700)
        as_user = [runuser, "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = folder / "data"
    try:
        subprocess.run([*as_user, initdb, "-D", str(data), "-U", "postgres",
                        "--auth=trust"], check=True, capture_output=True,
                       timeout=120)
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l",
                        str(folder / "log"), "-w", "-t", "60", "-o",
                        f"-c listen_addresses=127.0.0.1 -p {port} "
                        f"-k {folder}", "start"], check=True,
                       capture_output=True, timeout=120)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
    assert not listening(port)


def test_a_postgres_record_survives_a_killed_worker(cluster, postgres,
                                                    tmp_path):
    address, _ = cluster
    study = run_sweep(GRID, trial=sweep_trials.kill_worker_once,
                      client=address, storage=postgres,
                      fixed={"markers": str(tmp_path)}, timeout=180)
    assert (tmp_path / "killed-2-0.0").exists()
    assert_each_point_once(study)
    again = optuna.load_study(study_name="sda", storage=postgres)
    assert len(again.get_trials()) == 4


def test_the_documented_postgres_url_works_and_locks_its_study(cluster,
                                                               postgres):
    """Case 16: postgresql://USER@DBHOST/sweeps failed with "No module
    named 'psycopg'"; case 13 on PostgreSQL: an advisory lock."""
    import sqlalchemy
    address, _ = cluster
    assert postgres.startswith("postgresql://")  # no +driver
    engine = sqlalchemy.create_engine(postgres)
    try:
        # another driver's lock, held on its own connection
        with sda.sweep.storage.study_lock(postgres, "pg", engine):
            with pytest.raises(sda.sweep.StorageError,
                               match="study 'pg' is being run by another "
                                     "driver"):
                run_sweep(GRID, trial=sweep_trials.quadratic,
                          client=address, storage=postgres, study_name="pg")
    finally:
        engine.dispose()
    # released with its connection: the sweep runs
    assert_each_point_once(run_sweep(
        GRID, trial=sweep_trials.quadratic, client=address, storage=postgres,
        study_name="pg", timeout=60))


# -- the command line and bad arguments -------------------------------------------

def test_the_command_line_writes_its_table_and_plot(cluster, tmp_path):
    address, _ = cluster
    space = tmp_path / "space.yaml"
    space.write_text("space:\n  x: [1, 2]\n  y: [0.0, 0.5]\n"
                     "fixed:\n  sleep: 0.1\n")
    out = subprocess.run(
        [sys.executable, "-m", "sda.sweep", str(space), "--trial",
         "sweep_trials:quadratic", "--scheduler", address,
         "--output-folder", str(tmp_path / "out")],
        env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "trials 4/4; best valid_error 0 with {'x': 1, 'y': 0.0}" \
        in out.stdout
    # the default storage lives with the results, not in the working folder
    for name in ("results.csv", "results.json", "errors.png", "sweep.db"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    rows = json.loads((tmp_path / "out" / "results.json").read_text())
    assert sorted(r["valid_error"] for r in rows) == [0, 0.5, 1, 1.5]

    space.write_text("space: [1, 2")
    bad = subprocess.run(
        [sys.executable, "-m", "sda.sweep", str(space), "--storage",
         sqlite(tmp_path)], env=subprocess_env(), capture_output=True,
        text=True, timeout=120)
    assert bad.returncode == 1
    assert bad.stderr.startswith(f"error: {space}: is not valid YAML")


@pytest.mark.parametrize("kwargs, message", [
    (dict(space={}), "space must be a non-empty dict"),
    (dict(space={"x": []}), r"space\['x'\] must be a non-empty list"),
    (dict(sampler="bayes"), "sampler must be one of"),
    (dict(n_trials=0), "n_trials must be a positive integer"),
    (dict(retries=-1), "retries must be an integer >= 0"),
    (dict(direction="down"), "direction must be 'minimize' or 'maximize'"),
    (dict(fixed={"x": 3}), r"fixed and space both name \['x'\]"),
    (dict(client=42), "client must be a dask Client"),
    # issue 22, case 5: NaN equals nothing, its trials were left RUNNING
    (dict(space={"x": [-0.1, float("nan")]}),
     r"space\['x'\] must not hold NaN, got \[-0.1, nan\]"),
    (dict(space={"x": [1, 1]}), r"space\['x'\] must not hold a value twice"),
    (dict(space={"x": [object()]}), r"space\['x'\] must hold numbers"),
    # case 6
    (dict(fixed=[1, 2]), r"fixed must be a mapping .*, got \[1, 2\]"),
    # case 4: names checked against train_trial.PARAMETERS
    (dict(trial=train_trial, space={"corruption_level": [0.1]}),
     "train_trial takes no parameter 'corruption_level'; did you mean "
     "'corruption_levels'"),
    (dict(trial=train_trial, space={"noise": ["masking"]},
          fixed={"n_hiden": 3}), "takes no parameter 'n_hiden'"),
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, kwargs,
                                                   message):
    args = dict(space=GRID, trial=sweep_trials.quadratic,
                storage=sqlite(tmp_path))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        run_sweep(**args)
    assert not (tmp_path / "sweep.db").exists()  # no study, no record


def test_a_huge_grid_is_refused_from_its_size_in_bounded_memory(tmp_path):
    """Case 2: nine parameters of ten values were built as a list of 10^9
    points (a MemoryError at 3.7 GB)."""
    import tracemalloc
    space = {f"p{i}": list(range(10)) for i in range(9)}
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=r"the grid of the space has "
                           r"1000000000 points \(10 x 10 x 10 x 10 x 10 "
                           r"x 10 x 10 x 10 x 10\), more than "
                           r"sda.sweep.space.MAX_GRID = 100000"):
            run_sweep(space, trial=sweep_trials.quadratic,
                      storage=sqlite(tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1 and peak < 1e6
    assert not (tmp_path / "sweep.db").exists()
    # sampled, the same space is fine: n_trials of its points are drawn
    assert sda.sweep.space.grid_size(space) == 10 ** 9


def _broken_sqlite(tmp_path, how):
    path = tmp_path / "store.db"
    if how == "folder":
        path.mkdir()
    elif how == "text":
        path.write_text("not a database\n")
    elif how == "truncated":
        optuna.create_study(storage=f"sqlite:///{path}", study_name="s")
        path.write_bytes(path.read_bytes()[:1000])
    return f"sqlite:///{path}"


@pytest.mark.parametrize("url, message", [
    ("folder", "is a folder, not a SQLite file"),
    ("missing", "folder .*/missing does not exist"),
    ("text", "is not a SQLite database"),
    ("truncated", "malformed"),
    ("garbage", "^garbage: Could not parse SQLAlchemy URL"),
    ("mysql://u@127.0.0.1/db",
     "needs a database driver that is not installed .*MySQLdb"),
])
def test_an_unusable_storage_is_one_line_naming_it(tmp_path, url, message):
    """Case 10: 85-130-line SQLAlchemy tracebacks."""
    if url in ("folder", "text", "truncated"):
        url = _broken_sqlite(tmp_path, url)
    elif url == "missing":
        url = f"sqlite:///{tmp_path}/missing/x.db"
    with pytest.raises(sda.sweep.StorageError, match=message) as caught:
        run_sweep(GRID, trial=sweep_trials.quadratic, storage=url)
    assert str(caught.value).startswith(url)
    assert "\n" not in str(caught.value)


def test_a_read_only_or_locked_storage_is_one_line(tmp_path):
    """Cases 11 and 12: 'StorageInternalError: ... exceeding max length';
    a 5 s wait, then an 85-line traceback."""
    import sqlite3
    url = sqlite(tmp_path)
    optuna.create_study(storage=url, study_name="sda")
    (tmp_path / "sweep.db").chmod(0o444)
    try:
        with pytest.raises(sda.sweep.StorageError,
                           match=f"^{url}: is read-only"):
            run_sweep(GRID, trial=sweep_trials.quadratic, storage=url)
    finally:
        (tmp_path / "sweep.db").chmod(0o644)
    holder = sqlite3.connect(tmp_path / "sweep.db")
    holder.execute("BEGIN EXCLUSIVE")
    start = time.monotonic()
    try:
        with pytest.raises(sda.sweep.StorageError,
                           match=f"^{url}: .*database is locked"):
            run_sweep(GRID, trial=sweep_trials.quadratic, storage=url)
    finally:
        holder.rollback()
        holder.close()
    assert time.monotonic() - start < 15  # SQLite's own 5 s wait


def test_train_trial_under_jax_in_blocks():
    pytest.importorskip("jax", reason="the extra sda[jax]")
    params = {"hidden_layers_sizes": [20], "corruption_levels": 0.0, **TINY}
    per_call = train_trial({**params, "mode": "JAX"})
    blocked = train_trial({**params, "mode": "JAX", "steps_per_call": 5})
    assert blocked["valid_error"] == per_call["valid_error"] < 0.5


# -- issue 22: what each mistake now gets -----------------------------------------

def sweep_command(*args, timeout=120, **kwargs):
    """``python -m sda.sweep ARGS`` in a subprocess, its output as text."""
    return subprocess.run([sys.executable, "-m", "sda.sweep", *map(str, args)],
                          env=subprocess_env(), capture_output=True,
                          text=True, timeout=timeout, **kwargs)


#: ``python -m sda.sweep`` that writes its peak memory (VmHWM, kB) to the
#: file named first: ru_maxrss would count the parent's pages the child
#: started with.
MEASURED = """
import runpy, sys
report = sys.argv.pop(1)
try:
    runpy.run_module("sda.sweep", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as f:
        hwm = next(line for line in f if line.startswith("VmHWM"))
    with open(report, "w") as f:
        f.write(hwm.split()[1])
"""


def measured(args, report):
    """``python -m sda.sweep ARGS``: its exit status, stderr, seconds and
    peak memory in MB."""
    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc/self/status to read the peak memory from")
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", MEASURED, str(report),
                          *map(str, args)], env=subprocess_env(),
                         capture_output=True, text=True, timeout=120)
    return (out.returncode, out.stderr, time.monotonic() - start,
            int(report.read_text()) / 1024)


def alias_bomb():
    """Nine levels of ten aliases: 10^9 values from under 500 bytes."""
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]"
              for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_in_bounded_time_and_memory(tmp_path):
    """Case 1: 72-85 s, 3.3 GB, a raw MemoryError after the study was made."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())
    assert bomb.stat().st_size < 600
    status, err, seconds, peak = measured(
        [bomb, "--output-folder", tmp_path / "out"], tmp_path / "peak")
    assert status == 1
    assert err == (f"error: {bomb}: is not valid YAML: line 2: aliases "
                   f"(*name) are not allowed in a sweep space\n")
    assert seconds < 20 and peak < 500, (seconds, peak)  # imports: ~130 MB
    assert not (tmp_path / "out" / "sweep.db").exists()


@pytest.mark.parametrize("name, content, message", [
    # case 6: a 19-line TypeError traceback
    ("fixed.yaml", "space:\n  x: [1]\nfixed: [1, 2]\n",
     "{path}: 'fixed' must be a mapping of parameter names to values, got "
     "[1, 2]"),
    # case 7: the decoder's message without the file's name
    ("latin.yaml", "x: ['caf\xe9']\n".encode("latin-1"),
     "{path}: is not UTF-8 text (byte 0xe9 at offset 8)"),
    # case 4: every trial ran twice and failed, exit status 0
    ("typo.yaml", "space:\n  corruption_level: [0.1, 0.2]\n",
     "train_trial takes no parameter 'corruption_level'; did you mean "
     "'corruption_levels'?"),
    ("big.json", "[" + " " * (1 << 20) + "]",
     "{path}: is larger than sda.sweep.command.MAX_SPACE_BYTES = 1048576 "
     "bytes"),
    # a FIFO blocked the read, waiting for a writer
    ("pipe.yaml", None, "{path}: is a FIFO, not a regular file: refused"),
], ids=["fixed-a-list", "not-utf8", "misspelt-name", "too-large", "fifo"])
def test_a_wrong_space_file_is_one_line_before_any_work(tmp_path, name,
                                                        content, message):
    path = tmp_path / name
    if content is None:
        os.mkfifo(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    out = sweep_command(path, "--output-folder", tmp_path / "out")
    assert out.returncode == 1
    assert out.stderr.startswith(f"error: {message.format(path=path)}")
    assert out.stderr.count("\n") == 1 and out.stdout == ""
    assert not (tmp_path / "out" / "sweep.db").exists()


@pytest.mark.parametrize("folder, problem", [
    ("afile", "File exists"), ("afile/sub", "Not a directory")])
def test_an_output_folder_that_cannot_be_is_refused_first(tmp_path, folder,
                                                         problem):
    """Case 15: found only after every trial had run."""
    (tmp_path / "afile").touch()
    space = tmp_path / "space.yaml"
    space.write_text("x: [1, 2]\ny: [0.0]\n")
    out = sweep_command(space, "--trial", "sweep_trials:quadratic",
                        "--output-folder", tmp_path / folder,
                        cwd=tmp_path)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == (f"error: {tmp_path / folder}: is not a folder sda "
                          f"can write to ({problem})\n")
    assert list(tmp_path.glob("**/*.db")) == []


def test_the_help_shows_each_default_once_and_every_flag():
    """Also seen: two defaults for --trial, no help for five flags."""
    out = sweep_command("--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    assert text.count("default: sda.sweep:train_trial") == 1
    assert "(default: None)" not in text and "(default: False)" not in text
    for flag in ("--sampler", "--study-name", "--retries", "--metric",
                 "--output-folder"):
        after = text.split(f" {flag} ", 1)[1].split(" --", 1)[0]
        assert len(after.split()) > 4, (flag, after)


def test_equal_choices_of_other_types_stay_themselves(cluster, tmp_path):
    """Case 8: [1, 1.0, true] ran all three trials with the int 1."""
    address, _ = cluster
    space = {"x": [1, 1.0, True]}
    study = run_sweep(space, trial=sweep_trials.echo_type, client=address,
                      storage=sqlite(tmp_path), timeout=60)
    rows = sda.sweep.results_table(study, space)
    assert sorted((type(r["x"]).__name__, r["type"]) for r in rows) == [
        ("bool", "bool"), ("float", "float"), ("int", "int")]


def test_a_changed_space_is_refused_by_name(cluster, tmp_path):
    """Case 9: 'error: 0.3 is not among [0.0, 0.5]', two parameterless
    WAITING trials left behind."""
    address, _ = cluster
    storage = sqlite(tmp_path)
    run_sweep(GRID, trial=sweep_trials.quadratic, client=address,
              storage=storage, timeout=60)
    for space, message in [
            ({"x": [1, 2], "y": [0.3]},
             r"study 'sda' was run with space\['y'\] = \[0.0, 0.5\], not "
             r"\[0.3\]; use another study name"),
            ({"x": [1, 2], "z": [0.0, 0.5]},
             r"study 'sda' was run with parameters \['x', 'y'\], not "
             r"\['x', 'z'\]")]:
        with pytest.raises(sda.sweep.StorageError,
                           match=f"^{storage}: {message}"):
            run_sweep(space, trial=sweep_trials.quadratic, client=address,
                      storage=storage, timeout=60)
    study = optuna.load_study(study_name="sda", storage=storage)
    assert [t.state.name for t in study.get_trials()] == ["COMPLETE"] * 4


def test_a_refused_argument_fails_once_with_its_reason(cluster, tmp_path):
    """Case 4: each trial ran twice, bare FAIL, no reason in the results,
    exit status 0."""
    address, _ = cluster
    markers = tmp_path / "markers"
    markers.mkdir()
    space = tmp_path / "space.yaml"
    space.write_text(f"space:\n  x: [1, 2]\nfixed:\n  markers: {markers}\n")
    out = sweep_command(space, "--trial", "sweep_trials:refuse_counting",
                        "--scheduler", address, "--retries", "3",
                        "--output-folder", tmp_path / "out")
    assert out.returncode == 1
    assert out.stderr.endswith(
        "error: no trial completed; 2 failed: ValueError: x must be "
        "positive, got 1; ValueError: x must be positive, got 2\n")
    assert len(list(markers.iterdir())) == 2  # not retried
    assert "trial 0 FAIL: ValueError: x must be positive, got 1" in out.stdout
    # the table: the reason after the state
    assert "FAIL  ValueError: x must be positive" in out.stdout, out.stdout
    rows = json.loads((tmp_path / "out" / "results.json").read_text())
    assert sorted(r["error"] for r in rows) == [
        "ValueError: x must be positive, got 1",
        "ValueError: x must be positive, got 2"]
    assert "ValueError: x must be positive, got 2" in (
        tmp_path / "out" / "results.csv").read_text()


def test_the_driver_reads_the_study_once_per_sweep(cluster, tmp_path,
                                                   monkeypatch):
    """Case 3: a 1000-point grid of instant trials completed one trial
    every 0.6-0.9 s, the driver re-reading every trial on every step."""
    address, _ = cluster
    reads = []
    get_trials = optuna.Study.get_trials
    monkeypatch.setattr(optuna.Study, "get_trials", lambda self, *a, **k: (
        reads.append(1), get_trials(self, *a, **k))[1])
    space = {"x": list(range(10)), "y": [i / 10 for i in range(12)]}
    start = time.monotonic()
    study = run_sweep(space, trial=sweep_trials.quadratic, client=address,
                      storage=sqlite(tmp_path), timeout=120)
    seconds = time.monotonic() - start
    assert len(reads) == 1
    monkeypatch.undo()
    assert_each_point_once(study, space)
    assert seconds / 120 < 0.15, seconds  # 37 ms a trial measured


def test_ctrl_c_stops_in_one_line_that_says_how_to_finish(tmp_path,
                                                          monkeypatch):
    """Case 14: 111 lines of KeyboardInterrupt and CancelledError
    tracebacks from the driver and the workers, no resume hint."""
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    space = tmp_path / "space.yaml"
    # trials of 2 s: the Ctrl-C must come while some are still running,
    # and with trials of 0.5 s a busy machine once let all four finish
    # between the first one's line and the signal
    space.write_text("space:\n  x: [1, 2]\n  y: [0.0, 0.5]\n"
                     "fixed:\n  sleep: 2.0\n")
    args = [space, "--trial", "sweep_trials:quadratic", "--output-folder",
            tmp_path / "out"]
    # the local cluster: its workers are in the driver's process group,
    # where a terminal's Ctrl-C lands
    driver = subprocess.Popen(
        [sys.executable, "-m", "sda.sweep", *map(str, args)],
        env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
    try:
        for line in driver.stdout:  # a line per finished trial
            if line.startswith("trials 1/4"):  # two workers: 3 to go
                break
        os.killpg(driver.pid, signal.SIGINT)
        _, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait(timeout=30)
    assert driver.returncode == 130
    rerun = f"python -m sda.sweep {' '.join(map(str, args))}"
    assert err == (f"stopped: the finished trials are kept in "
                   f"sqlite:///{tmp_path}/out/sweep.db; to finish the "
                   f"sweep, run again: {rerun}\n")
    # the command it names finishes the grid
    again = sweep_command(*args, timeout=180)
    assert again.returncode == 0, again.stderr
    study = optuna.load_study(study_name="sda",
                              storage=f"sqlite:///{tmp_path}/out/sweep.db")
    assert_each_point_once(study)


def test_a_second_driver_on_a_study_is_refused(cluster, tmp_path):
    """Case 13: the second marked the first's trials FAIL and reran them;
    the first died with UpdateFinishedTrialError."""
    address, _ = cluster
    space = tmp_path / "space.yaml"
    # trials long enough that the first driver is still running when the
    # second has started (a second start-up took over 2 s on a busy CI)
    space.write_text("space:\n  x: [1, 2]\n  y: [0.0, 0.5]\n"
                     "fixed:\n  sleep: 6.0\n")
    args = [space, "--trial", "sweep_trials:quadratic", "--scheduler",
            address, "--output-folder", tmp_path / "out"]
    first = subprocess.Popen(
        [sys.executable, "-m", "sda.sweep", *map(str, args)],
        env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
    try:
        assert first.stdout.readline().startswith("trials 1/4")
        second = sweep_command(*args)
        assert second.returncode == 1 and second.stdout == ""
        assert second.stderr == (
            f"error: sqlite:///{tmp_path}/out/sweep.db: study 'sda' is "
            f"being run by another driver; wait for it to end, or use "
            f"another study name\n")
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
    assert first.returncode == 0, err
    study = optuna.load_study(study_name="sda",
                              storage=f"sqlite:///{tmp_path}/out/sweep.db")
    assert_each_point_once(study)
    assert len(study.get_trials()) == 4
