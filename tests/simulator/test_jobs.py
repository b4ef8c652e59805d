"""The background job runner behind REST."""
from __future__ import annotations

import shutil

import pytest
from ordinance.simulator.jobs import JobRunner
from ordinance.simulator.rulesets import RuleSetNotFound


def test_a_job_runs_and_keeps_its_summary_and_report(data, tmp_path):
    runner = JobRunner(tmp_path / "jobs", executor="inline")
    orders = tmp_path / "orders.jsonl"
    shutil.copy(data / "orders.jsonl", orders)
    job = runner.start(str(data / "base"), str(data / "candidate-rules"), orders,
                       delete_orders=True)
    assert job.to_json()["state"] in ("queued", "running", "done")
    finished = runner.wait(job.id, timeout=60)
    assert finished.state == "done", finished.error
    status = finished.to_json()
    assert status["progress"] == {"orders": 7, "fraction": 1.0}
    assert status["report"] == f"/v1/simulations/{job.id}/report.html"
    summary = runner.summary(job.id)
    assert summary["changed_orders"] == 2
    assert summary["candidate"]["revenue"] == {"EUR": "2374.00"}
    assert "<svg" in runner.report_html(job.id)
    assert not orders.exists()                # the upload is deleted once read


def test_a_failing_job_reports_why(data, tmp_path):
    runner = JobRunner(tmp_path / "jobs", executor="inline")
    broken = tmp_path / "broken"
    shutil.copytree(data / "base", broken)
    (broken / "packs" / "bad.yaml").write_text("pack: bad\nphase: pricing\nrules:\n"
                                               "  - id: r\n    when: lenght(order.lines)\n")
    job = runner.wait(runner.start(str(data / "base"), str(broken),
                                   data / "orders.jsonl").id, timeout=60)
    assert job.state == "failed"
    assert "bad.yaml:5:" in job.error
    assert runner.summary(job.id) is None and runner.report_html(job.id) is None


def test_unknown_rule_set_is_refused_at_once(data, tmp_path):
    runner = JobRunner(tmp_path / "jobs", executor="inline")
    with pytest.raises(RuleSetNotFound):
        runner.start(str(tmp_path / "nowhere"), str(data / "base"), data / "orders.jsonl")
    with pytest.raises(RuleSetNotFound, match="ruleset.yaml"):
        runner.start("/", str(data / "base"), data / "orders.jsonl")   # never hashes all of /
    with pytest.raises(RuleSetNotFound):
        runner.start("bad\x00name", str(data / "base"), data / "orders.jsonl")
    with pytest.raises(RuleSetNotFound, match="storage"):
        runner.start("acme@sha256:00", str(data / "base"), data / "orders.jsonl")
    assert runner.jobs == {}


def test_stored_only_never_reads_a_directory_even_one_named_like_a_version(data, tmp_path,
                                                                          monkeypatch):
    """The service passes stored_only: a directory named `x@1` (relative to the working
    directory) is not a stored version, while the resolver's answer is used as given."""
    runner = JobRunner(tmp_path / "jobs", executor="inline")
    shutil.copytree(data / "base", tmp_path / "x@1")
    monkeypatch.chdir(tmp_path)
    asked = []

    def resolver(spec):
        asked.append(spec)
        return data / "candidate-rules" if spec == "stored@2" else None

    for spec in ("x@1", str(tmp_path / "x@1"), str(data / "base")):
        with pytest.raises(RuleSetNotFound, match="not a stored rule-set version"):
            runner.start(spec, "stored@2", data / "orders.jsonl", resolver=resolver,
                         stored_only=True)
    assert asked == ["x@1", str(tmp_path / "x@1"), str(data / "base")]
    job = runner.start("stored@2", "stored@2", data / "orders.jsonl", resolver=resolver,
                       stored_only=True)
    assert runner.wait(job.id, timeout=60).state == "done"
    assert runner.summary(job.id)["baseline"]["ruleset"]["spec"] == "stored@2"
