"""The same simulation inline, on local processes and on a local Dask cluster: same results."""
from __future__ import annotations

import pytest
from ordinance.simulator.replay import Options, simulate
from ordinance.simulator.rulesets import resolve
from ordinance.simulator.streams import open_orders

OPTIONS = Options(sample_size=7, collect_changes=True, chunk_size=4)


def run(data, orders, **how):
    rows: list[tuple[str, ...]] = []
    summary = simulate(resolve(str(data / "base")), resolve(str(data / "candidate-rules")),
                       open_orders(str(orders)), OPTIONS, on_changes=rows.extend, **how)
    return summary, rows


@pytest.fixture(scope="module")
def stream(many_orders):
    return many_orders(40)       # 280 non-blank lines (8 per copy), 70 chunks


@pytest.fixture(scope="module")
def inline(data, stream):
    return run(data, stream, executor="inline")


def test_inline_counts(inline):
    summary, rows = inline
    assert (summary["orders"], summary["changed_orders"], summary["bad_lines"]) == (240, 80, 40)
    assert len(rows) == 80 and len(summary["sample"]) == 7
    assert [r[0] for r in rows[:4]] == ["2", "3", "10", "11"]
    assert summary["changes"]["revenue"] == {
        "EUR": {"baseline": "97440.00", "candidate": "94960.00", "delta": "-2480.00"}}


def test_local_processes_give_the_same_summary_and_rows(data, stream, inline):
    progress = []
    summary, rows = run(data, stream, executor="processes", workers=2,
                        progress=progress.append)
    assert summary == inline[0]
    assert rows == inline[1]
    assert progress[-1].items == 280 and progress[-1].bytes_read == stream.stat().st_size


def test_dask_gives_the_same_summary_and_rows(data, stream, inline):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, host="127.0.0.1", protocol="tcp://",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        summary, rows = run(data, stream, executor="dask", client=client)
        by_address, _ = run(data, stream, executor="dask", scheduler=cluster.scheduler_address)
    assert summary == inline[0]
    assert rows == inline[1]
    assert by_address == inline[0]


def test_a_worker_without_the_directory_writes_the_rule_set_out(data, tmp_path):
    import shutil
    from dataclasses import replace

    from ordinance.engine import digest_of
    from ordinance.simulator.rulesets import bundle, materialize

    copy = tmp_path / "elsewhere"
    shutil.copytree(data / "candidate-rules", copy)
    ref = resolve(str(copy))
    files = bundle(ref)
    assert "ruleset.yaml" in files and "packs/pricing.yaml" in files
    assert materialize(ref, files) == str(copy.resolve())    # there, same digest: used as is
    shutil.rmtree(copy)                                       # as on another machine
    written = materialize(ref, files)
    assert written != ref.path and digest_of(written) == ref.digest
    assert materialize(replace(ref, path=str(copy)), files) == written    # written once
