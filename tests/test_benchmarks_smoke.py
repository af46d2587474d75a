"""The benchmarks cannot rot: every asv benchmark's setup and methods run once
on the smallest data, and the comparison (scikit-learn, dense, peers), floor,
thread-scaling and compile-time scripts run end to end on a tiny matrix (or
one fit). Nothing here is timed."""

import importlib
import importlib.util
import inspect
import itertools
import pathlib
import sys

import numpy as np
import pytest
import scipy.sparse as sp

REPO = pathlib.Path(__file__).resolve().parent.parent
ASV_SUITE = REPO / "asv_benchmarks" / "benchmarks"
SCRIPTS = REPO / "benchmarks"
BENCHMARK_PREFIXES = ("time_", "peakmem_", "track_", "mem_")


def _asv_package():
    """The asv suite as a package of its own name (asv calls it
    ``benchmarks``, which the scripts' folder would shadow)."""
    name = "fastnmf_asv_suite"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, ASV_SUITE / "__init__.py", submodule_search_locations=[str(ASV_SUITE)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    return name


def _benchmark_modules():
    return sorted(path.stem for path in ASV_SUITE.glob("bench_*.py"))


def _benchmark_classes():
    package = _asv_package()
    for module_name in _benchmark_modules():
        module = importlib.import_module(f"{package}.{module_name}")
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and cls.__module__ == module.__name__ and not name.startswith("_"):
                methods = [m for m in dir(cls) if m.startswith(BENCHMARK_PREFIXES)]
                if methods:
                    yield pytest.param(cls, methods, id=f"{module_name}.{name}")


def _smallest_combinations(cls):
    """Parameter combinations in order, with the data size set to "tiny",
    one thread and float64 first (the dtype the rest of the test suite
    compiles, so a cold Numba cache compiles little more here)."""
    params = getattr(cls, "params", [])
    names = getattr(cls, "param_names", [])
    if params and not isinstance(params[0], (list, tuple)):
        params, names = [params], names[:1]
    grid = []
    for name, values in zip(names, params, strict=True):
        if name == "size":
            values = ["tiny"]
        elif name == "n_threads":
            values = [1]
        elif name == "dtype":
            values = sorted(values, key=lambda dtype: dtype != "float64")
        grid.append(values)
    return list(itertools.product(*grid))


def test_every_benchmark_module_is_collected():
    assert {"bench_nmf", "bench_kernels", "bench_transform", "bench_solvers"} <= set(_benchmark_modules())


@pytest.mark.parametrize(("cls", "methods"), list(_benchmark_classes()))
def test_asv_benchmark_runs_once(cls, methods):
    for combination in _smallest_combinations(cls):
        benchmark = cls()
        try:
            if hasattr(benchmark, "setup"):
                benchmark.setup(*combination)
        except NotImplementedError:
            if hasattr(benchmark, "teardown"):
                benchmark.teardown(*combination)
            continue
        try:
            for method in methods:
                value = getattr(benchmark, method)(*combination)
                if method.startswith("track_"):
                    assert np.isfinite(value), f"{method}{combination} returned {value!r}"
        finally:
            if hasattr(benchmark, "teardown"):
                benchmark.teardown(*combination)
        return
    pytest.skip(f"{cls.__name__}: every combination is skipped here (NotImplementedError in setup)")


@pytest.fixture
def scripts(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    return lambda name: importlib.import_module(name)


def test_synthetic_matrix_is_seeded_and_realistic(scripts):
    synthetic = scripts("synthetic")
    X = synthetic.corpus("tiny", seed=3, dtype=np.float32)
    again = synthetic.corpus("tiny", seed=3, dtype=np.float32)
    assert sp.issparse(X) and X.format == "csr" and X.dtype == np.float32
    assert X.shape == (synthetic.SIZES["tiny"].n_docs, synthetic.SIZES["tiny"].n_terms)
    assert (X != again).nnz == 0
    assert X.has_sorted_indices and X.data.min() >= 1
    stats = synthetic.statistics(X)
    assert 5_000 < stats["nnz"] < 20_000
    # Uneven columns: the most common term is in far more documents than the median one.
    assert stats["max col nnz / median"] > 10
    assert stats["max col nnz (% of docs)"] > 30


def test_synthetic_rejects_bad_arguments(scripts):
    synthetic = scripts("synthetic")
    with pytest.raises(ValueError, match="size must be one of"):
        synthetic.corpus("huge")
    with pytest.raises(ValueError, match="n_docs must be a positive integer; got 0"):
        synthetic.document_term_matrix(0, 10)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--max-iterations", "0"], "--max-iterations must be at least 1; got 0"),
        (["--time-cap", "nan"], "--time-cap must be a positive multiple"),
        (["--dense-max", "-1"], "--dense-max must be 0 or more entries"),
        (["--epochs", "0"], "--threads, --epochs and --ranks must be at least 1"),
    ],
)
def test_compare_peers_rejects_bad_arguments(scripts, capsys, arguments, message):
    with pytest.raises(SystemExit):
        scripts("compare_peers").main(arguments)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--min-span", "--settle"])
@pytest.mark.parametrize("script", ["compare_sklearn", "compare_dense", "compare_peers"])
@pytest.mark.parametrize("span", ["-1", "nan"])
def test_comparisons_reject_a_negative_span(scripts, capsys, script, span, option):
    with pytest.raises(SystemExit):
        scripts(script).main([option, span])
    assert f"{option} must be 0 or more seconds" in capsys.readouterr().err


def test_per_iteration_lengthens_short_spans(scripts):
    """k2 grows until t(k2) - t(1) spans min_span (here a fake fit of
    1 ms per iteration and 10 ms of fixed cost), and stays at 1 +
    iterations without a span."""
    compare = scripts("compare_sklearn")

    def fit(k):
        return 0.010 + 0.001 * k

    lengthened = compare.per_iteration(fit, iterations=10, repeat=2, slow_seconds=5.0, min_span=0.05)
    assert 51 <= lengthened.k2 <= 52  # 1 + ceil(10 * 0.05 / 0.01), give or take the rounding of the span
    assert lengthened.seconds == pytest.approx(0.001, rel=1e-9)
    assert compare.per_iteration(fit, iterations=10, repeat=2, slow_seconds=5.0).k2 == 11


def test_masked_reference_is_the_same_update_as_fastnmf(scripts):
    import fastnmf

    compare = scripts("compare_sklearn")
    V = scripts("synthetic").corpus("tiny", seed=1)
    W0, H0 = compare.random_init(V, 4, seed=0)
    for beta, loss in ((2.0, "frobenius"), (1.0, "kullback-leibler")):
        W_ref, H_ref = compare.MaskedReference(V, beta).fit(W0, H0, 3)
        result = fastnmf.nmf(V, 4, loss=loss, mask="observed", init=(W0, H0), max_iter=3, tol=0.0)
        np.testing.assert_allclose(result.W, W_ref, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(result.H, H_ref, rtol=1e-9, atol=1e-12)


def test_compare_sklearn_runs_on_a_tiny_matrix(scripts, capsys):
    pytest.importorskip("sklearn")
    compare = scripts("compare_sklearn")
    code = compare.main(
        ["--sizes", "tiny", "--dtypes", "float64", "--ranks", "3", "--threads", "1", "--repeat", "1",
         "--iterations", "1", "--cd-iterations", "3", "--max-iterations", "5"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "KL MU vs sklearn mu" in out and "masked frobenius MU vs scipy/numpy" in out
    assert "time to cd's loss" in out and "CPU:" in out and "Numba compiles for" in out
    assert "threading environment:" in out


def test_the_header_names_the_threading_variables_set(scripts, monkeypatch):
    """OpenBLAS's spin after a product changes dense fits' times by up to a
    third on 2 cores, so a table says whether the environment shortened it."""
    compare = scripts("compare_sklearn")
    for name in compare.THREADING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert compare.threading_environment().startswith("threading environment: none of OMP_WAIT_POLICY")
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "4")
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert compare.threading_environment() == "threading environment: OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4"


def test_the_header_names_the_cpu_numba_compiles_for(scripts, monkeypatch, fresh_compile_target):
    """The model name can be the same for processors with and without
    AVX-512 (a virtual machine's "AMD EPYC"), so the header says which
    one the kernels were compiled for: NUMBA_CPU_NAME and
    NUMBA_CPU_FEATURES when set, as Numba does."""
    import numba

    compare = scripts("compare_sklearn")
    assert "widest vectors" in compare.compile_target() or "not known" in compare.compile_target()
    monkeypatch.setattr(numba.config, "CPU_NAME", "generic")
    for features, expected in (("+sse2,+avx2", "AVX2"), ("+sse2", "SSE2"), ("+fma", "none of")):
        monkeypatch.setattr(numba.config, "CPU_FEATURES", features)
        fresh_compile_target.cache_clear()
        assert compare.compile_target().startswith(f"generic (widest vectors: {expected}")
    monkeypatch.setattr(numba.config, "CPU_FEATURES", "")
    fresh_compile_target.cache_clear()
    assert compare.compile_target() == "generic (vector instructions not known)"


def test_the_header_says_the_l2_cache_and_the_column_blocks(scripts, monkeypatch):
    """Column blocks depend on the L2 cache (fastnmf._csr.block_bytes), so
    the header says which the run had."""
    import fastnmf._csr as csr

    compare = scripts("compare_sklearn")
    assert compare.cache_description() in compare.machine_description(1)
    monkeypatch.setattr(csr, "level2_cache_bytes", lambda: 1 << 20)
    monkeypatch.setattr(csr, "BLOCK_BYTES", 8 << 20)
    assert compare.cache_description() == "L2 1 MiB per core; factors over 8 MiB gathered by column blocks"
    monkeypatch.setattr(csr, "level2_cache_bytes", lambda: None)
    monkeypatch.setattr(csr, "BLOCK_BYTES", 5 << 19)
    assert compare.cache_description() == "L2 per core not known; factors over 2.5 MiB gathered by column blocks"


def test_compare_sklearn_gives_the_median_over_several_inits(scripts, capsys):
    pytest.importorskip("sklearn")
    compare = scripts("compare_sklearn")
    code = compare.main(
        ["--sizes", "tiny", "--dtypes", "float64", "--ranks", "3", "--threads", "1", "--repeat", "1",
         "--iterations", "1", "--cd-iterations", "3", "--max-iterations", "5", "--inits", "2", "--skip", "mu", "masked"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("2 inits:") == len(compare.fastnmf_frobenius_solvers())


def test_compare_sklearn_times_the_solvers_asked_for(scripts, capsys):
    pytest.importorskip("sklearn")
    compare = scripts("compare_sklearn")
    code = compare.main(
        ["--sizes", "tiny", "--dtypes", "float64", "--ranks", "3", "--threads", "1", "--repeat", "1",
         "--iterations", "1", "--cd-iterations", "3", "--max-iterations", "5", "--skip", "mu", "masked",
         "--solvers", "hals", "ehals"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("time to cd's loss") == 2 and "HALS vs sklearn cd" in out and "EHALS vs sklearn cd" in out
    assert "MU vs sklearn cd" not in out


def test_compare_dense_runs_on_a_tiny_matrix(scripts, capsys, tmp_path):
    pytest.importorskip("sklearn")
    compare = scripts("compare_dense")
    code = compare.main(
        ["--matrices", "synthetic", "faces", "--synthetic-shape", "60", "80", "--data-dir", str(tmp_path),
         "--dtypes", "float64", "--ranks", "3", "--threads", "1", "--repeat", "1", "--iterations", "1",
         "--cd-iterations", "3", "--max-iterations", "5"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    for comparison in ("frobenius MU", "kullback-leibler MU", "beta=1.5 MU", "itakura-saito MU", "time to cd's loss"):
        assert comparison in captured.out
    assert "skipping faces" in captured.err  # no data in tmp_path


def test_compare_dense_gives_the_median_over_several_inits(scripts, capsys):
    pytest.importorskip("sklearn")
    compare = scripts("compare_dense")
    code = compare.main(
        ["--synthetic-shape", "60", "80", "--dtypes", "float64", "--ranks", "3", "--threads", "1", "--repeat", "1",
         "--iterations", "1", "--cd-iterations", "3", "--max-iterations", "5", "--inits", "3", "--skip", "mu"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "3 inits:" in out and "(median" in out
    assert " MU " not in out


def _write_faces(path):
    """Three 4 x 3 images in the ORL archive's layout."""
    import io
    import tarfile

    path.parent.mkdir(parents=True)
    with tarfile.open(path, "w:gz") as archive:
        for subject, image in ((1, 1), (1, 2), (2, 1)):
            pixels = np.arange(12, dtype=np.uint8) * (subject + image)
            raw = b"P5\n4 3\n255\n" + pixels.tobytes()
            entry = tarfile.TarInfo(f"orl_faces/s{subject}/{image}.pgm")
            entry.size = len(raw)
            archive.addfile(entry, io.BytesIO(raw))


def test_compare_dense_reads_faces_and_stock_volumes(scripts, tmp_path):
    import gzip

    compare = scripts("compare_dense")
    _write_faces(tmp_path / compare.FACES_FILE)
    faces = compare.faces_matrix(tmp_path)
    assert faces.shape == (3, 12) and faces.min() >= 0 and faces.max() <= 1
    (tmp_path / compare.SP500_FILE).parent.mkdir(parents=True)
    rows = ["date,open,high,low,close,volume,Name"]
    rows += [f"2013-02-0{d},1,1,1,1,{100 * d},AAA" for d in (1, 2, 3)]
    rows += [f"2013-02-0{d},1,1,1,1,{10 * d},BBB" for d in (1, 2, 3)]
    rows += ["2013-02-01,1,1,1,1,5,CCC"]  # missing days: left out
    with gzip.open(tmp_path / compare.SP500_FILE, "wt") as file:
        file.write("\n".join(rows) + "\n")
    volumes = compare.sp500_matrix(tmp_path)
    np.testing.assert_allclose(volumes, [[0.5, 0.5], [1.0, 1.0], [1.5, 1.5]])


def test_compare_peers_runs_on_a_tiny_matrix(scripts, capsys):
    """MiniBatchNMF comes with scikit-learn; torchnmf and nimfa are run
    where they are installed and otherwise named as skipped."""
    pytest.importorskip("sklearn")
    compare = scripts("compare_peers")
    code = compare.main(
        ["--sizes", "tiny", "--dtypes", "float64", "--ranks", "3", "--threads", "1", "--repeat", "1",
         "--iterations", "1", "--epochs", "2", "--losses", "frobenius", "kullback-leibler"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "frobenius: time to MiniBatchNMF's loss (2 epochs)" in out
    assert "KL: time to MiniBatchNMF's loss (2 epochs)" in out
    for peer in ("torchnmf", "nimfa"):
        assert (f"{peer} not installed (skipped)" in out) != compare.installed(peer)
        assert (f"vs {peer}" in out) == compare.installed(peer)


def test_compare_peers_runs_on_real_dense_matrices(scripts, capsys, tmp_path):
    pytest.importorskip("sklearn")
    compare = scripts("compare_peers")
    _write_faces(tmp_path / compare.compare_dense.FACES_FILE)
    code = compare.main(
        ["--sizes", "--dense-matrices", "faces", "sp500", "--data-dir", str(tmp_path), "--dtypes", "float64",
         "--ranks", "2", "--threads", "1", "--repeat", "1", "--iterations", "1", "--epochs", "2",
         "--losses", "frobenius"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "faces: 3 x 12 dense" in out and "sp500: not found, skipped" in out
    rows = [line for line in out.splitlines() if line.startswith("faces ")]
    assert any("frobenius: time to MiniBatchNMF's loss (2 epochs)" in line for line in rows)
    assert "sparse V" not in out  # dense data is given to the peers as it is
    assert "documents x terms" not in out


def test_compare_peers_kl_loss_and_h_first_updates(scripts):
    """The peers' loss and their order of updates (H, then W) as the script
    computes them for fastnmf: the KL divergence over the stored entries
    against the dense formula, and fastnmf on V^T against NumPy's H-first
    multiplicative updates."""
    import naive

    compare = scripts("compare_peers")
    V = scripts("synthetic").corpus("tiny", seed=2)
    W0, H0 = scripts("compare_sklearn").random_init(V, 3, seed=0)
    dense = V.toarray()
    WH = W0 @ H0
    stored = dense > 0
    expected = np.sum(dense[stored] * np.log(dense[stored] / WH[stored])) - dense.sum() + WH.sum()
    assert compare.kl_loss(V, W0, H0) == pytest.approx(expected, rel=1e-10)

    args = compare.parse_arguments(["--threads", "1"])
    comparison = compare.Comparison(args, compare.common.Table(), "tiny", V, 3)
    for loss, beta in (("frobenius", 2.0), ("kullback-leibler", 1.0), ("1.5", 1.5)):
        W, H = W0, H0
        for _ in range(2):
            H = naive.mu_update_H(dense, W, H, beta)
            W = naive.mu_update_W(dense, W, H, beta)
        for layout in ("sparse", "dense"):
            ours = comparison.fastnmf_h_first(comparison.layouts[layout], loss, 2)
            np.testing.assert_allclose(ours[0], W, rtol=1e-8, atol=1e-12)
            np.testing.assert_allclose(ours[1], H, rtol=1e-8, atol=1e-12)


def test_floor_runs_on_a_tiny_matrix(scripts, capsys):
    floor = scripts("floor")
    code = floor.main(
        ["--sizes", "tiny", "--dtypes", "float64", "--ranks", "3", "--threads", "1", "--repeat", "1",
         "--iterations", "1", "--stream-mib", "4", "--gemm-side", "256"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "bandwidth" in out and "GEMM" in out and "MU iteration" in out
    assert "kernel, W side + objective" in out and "kernel, H side + objective" not in out


def test_thread_scaling_runs_on_a_tiny_matrix(scripts, capsys):
    scaling = scripts("thread_scaling")
    code = scaling.main(
        ["--sizes", "tiny", "--dtypes", "float64", "--ranks", "3", "--threads", "1", "--repeat", "1",
         "--iterations", "1", "--min-seconds", "0"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    for method in scaling.METHODS:
        assert f"  {method}  " in out
    assert "1->1" in out and "CPU:" in out


def test_thread_scaling_times_dense_shapes_without_the_masked_methods(scripts, capsys):
    scaling = scripts("thread_scaling")
    code = scaling.main(
        ["--sizes", "--dense", "30x40", "--dtypes", "float64", "--ranks", "2", "--threads", "1", "--repeat", "1",
         "--iterations", "1", "--min-seconds", "0"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "30x40 dense" in out and "  hals  " in out and "masked" not in out


def test_thread_scaling_refuses_a_malformed_dense_shape(scripts, capsys):
    scaling = scripts("thread_scaling")
    with pytest.raises(SystemExit):
        scaling.main(["--sizes", "--dense", "30by40"])
    assert "expected ROWSxCOLUMNS such as 400x10304, got '30by40'" in capsys.readouterr().err


def test_threading_layers_runs_on_a_tiny_matrix(scripts, capsys, tmp_path):
    """Each layer in a process of its own, the synthetic cases only (no data in tmp_path)."""
    layers = scripts("threading_layers")
    assert layers.main(["--rounds", "1", "--fits", "1", "--pause", "0", "--size", "tiny", "--threads", "2",
                        "--data-dir", str(tmp_path)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "tiny KL MU, 30 it" in out and "OpenMP" in out and "TBB" in out


def test_compile_time_runs_one_fit(scripts, capsys):
    compile_time = scripts("compile_time")
    assert compile_time.main(["--runs", "1", "--kinds", "one", "--jobs", "0"]) == 0  # precompile: test_precompile.py
    out = capsys.readouterr().out
    assert "cold compile of one fit, 1 run(s)" in out and "warm cache, new process: import" in out


def test_floor_work_model(scripts):
    floor = scripts("floor")
    # Frobenius: per entry an int32 index, a float32 value and a row of r floats.
    moved, flops = floor.kernel_work("frobenius", nnz=100, p=10, r=8, itemsize=4, index_size=4)
    assert moved == 100 * (4 + 4 + 32) + 11 * 4 + 10 * 8 * 4
    assert flops == 2 * 100 * 8
    # KL: a dot product, a division and an axpy per entry; the objective adds OBJECTIVE_FLOPS per entry.
    kl_moved, kl_flops = floor.kernel_work("kullback-leibler", nnz=100, p=10, r=8, itemsize=4, index_size=4)
    assert kl_moved == moved + 10 * 8 * 4 and kl_flops == 100 * (4 * 8 + 1)
    _, with_objective = floor.kernel_work("kullback-leibler", 100, 10, 8, 4, 4, with_loss=True)
    assert with_objective == kl_flops + floor.OBJECTIVE_FLOPS * 100
    with pytest.raises(ValueError, match="does not compute the objective"):
        floor.kernel_work("frobenius", 100, 10, 8, 4, 4, with_loss=True)
    with pytest.raises(ValueError, match="kind must be"):
        floor.kernel_work("itakura-saito", 1, 1, 1, 4, 4)


def test_late_iterations_runs_on_a_tiny_matrix(scripts, capsys):
    pytest.importorskip("sklearn")
    late = scripts("late_iterations")
    code = late.main(
        ["--sizes", "tiny", "--dtypes", "float32", "--ranks", "3", "--losses", "kullback-leibler", "1.5",
         "--early", "1:2", "--late", "3:5", "--repeat", "1", "--threads", "1"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "fastnmf 2-2 (ms/it)" in out and "sklearn 4-5" in out and "CPU:" in out
    assert "  kullback-leibler  " in out and "  1.5  " in out


def test_late_iterations_ratio_only_of_positive_times(scripts):
    late = scripts("late_iterations")
    assert late._ratio(2e-3, 1e-3) == "2x"
    assert late._ratio(-1e-4, 1e-3) == "-" and late._ratio(1e-3, -1e-4) == "-" and late._ratio(None, 1e-3) == "-"


def test_late_iterations_refuses_a_malformed_window(scripts, capsys):
    late = scripts("late_iterations")
    with pytest.raises(SystemExit):
        late.main(["--late", "250:150"])
    assert "expected 0 <= FIRST < LAST, got '250:150'" in capsys.readouterr().err
