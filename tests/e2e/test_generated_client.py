"""A Python client generated with openapi-python-client from the live /api/openapi.json runs a
student's whole exam and an admin's regrade, against a real server thread, PostgreSQL, Redis
and a real Celery worker. If the spec drops a model or mistypes a body, this breaks."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from shared.models import Role
from tests.factories import make_exam, make_question, make_user
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
PACKAGE = "exam_api_client"


@pytest.fixture
def server(app, committed):
    app.extensions["exam.session_factory"] = committed
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def generated(server, tmp_path):
    """The client package, generated from the running server's spec into tmp."""
    with urllib.request.urlopen(f"{server}/api/openapi.json", timeout=10) as response:  # noqa: S310
        spec = json.load(response)
    (tmp_path / "openapi.json").write_text(json.dumps(spec))
    out = tmp_path / "client"
    result = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", "openapi.json",
         "--meta", "none", "--output-path", str(out / PACKAGE)],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )  # fmt: skip
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    # Every warning is a model or an operation the generator left out.
    assert "WARNING" not in report and "Unable to" not in report, report
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def call(module: str, *args, **kwargs):
    """`<package>.api.<module>.sync_detailed(...)`, asserting a 2xx."""
    tag, _, name = module.partition(".")
    api = importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")
    response = api.sync_detailed(*args, **kwargs)
    assert 200 <= response.status_code < 300, (module, response.status_code, response.content)
    return response


def test_a_student_takes_an_exam_and_an_admin_regrades_through_the_generated_client(
    generated, server, committed, settings, processes
):
    from exam_api_client import AuthenticatedClient, Client
    from exam_api_client.models import (
        AnswerIn,
        AnswersIn,
        Attempt,
        AttemptStatusView,
        Job,
        Login,
        QuestionPatch,
        RegradeIn,
        Result,
        SubmitIn,
    )

    with committed() as session:
        student = make_user(session, settings, role=Role.STUDENT)
        admin = make_user(session, settings, role=Role.ADMIN)
        single = make_question(session, "single_choice")  # key "B"
        multiple = make_question(session, "multiple_choice")  # key ["A", "C"], partial
        flag = make_question(session, "true_false")  # key True
        number = make_question(session, "numeric")  # key 0.3
        exam = make_exam(session, questions=[single, multiple, flag, number])
        exam_id = exam.id
    processes.worker()

    anonymous = Client(base_url=server, raise_on_unexpected_status=True)

    def signed_in(account) -> AuthenticatedClient:
        body = Login(email=account.email, password=account.password)
        tokens = call("auth.auth_login", client=anonymous, body=body).parsed
        assert tokens.token_type == "Bearer" and tokens.user.email == account.email
        return AuthenticatedClient(
            base_url=server, token=tokens.access_token, raise_on_unexpected_status=True
        )

    # The student: see the exam, start, autosave, submit, poll, read the result.
    me = signed_in(student)
    exams = call("exams.exams_exam_list_get", client=me).parsed
    assert [e.id for e in exams] == [exam_id]
    assert call("exams.exams_exam_item_get", exam_id, client=me).parsed.title == "Midterm"

    started = call("attempts.attempts_start", exam_id, client=me)
    assert started.status_code == 201
    attempt = started.parsed
    assert isinstance(attempt, Attempt), attempt  # the model the generator used to drop
    assert attempt.status == "in_progress" and len(attempt.questions) == 4
    kinds = {q.type_ for q in attempt.questions}  # an enum of the question types
    assert kinds == {"single_choice", "multiple_choice", "true_false", "numeric"}
    resumed = call("attempts.attempts_start", exam_id, client=me)
    assert resumed.status_code == 200 and resumed.parsed.id == attempt.id

    answers = {
        str(single.id): "B",
        str(multiple.id): ["A"],  # half the points under partial scoring
        str(flag.id): True,
        str(number.id): 0.3,
    }
    batch = AnswersIn(
        answers=[AnswerIn(question_id=qid, response=r, seq=1) for qid, r in answers.items()]
    )
    saved = call("attempts.attempts_save_answers", attempt.id, client=me, body=batch).parsed
    assert saved.saved == 4 and saved.ignored == []
    back = call("attempts.attempts_get_attempt", attempt.id, client=me).parsed
    assert back.answers.to_dict() == answers  # every shape survives the typed round trip

    last = SubmitIn(answers=[AnswerIn(question_id=multiple.id, response=["A", "C"], seq=2)])
    submitted = call("attempts.attempts_submit", attempt.id, client=me, body=last).parsed
    assert submitted.status == "submitted" and submitted.status_url.endswith("/status")

    def graded():
        status = call("attempts.attempts_status", attempt.id, client=me).parsed
        assert isinstance(status, AttemptStatusView)
        return status if status.status == "graded" else None

    status = wait_until(graded, 60, "the worker to grade the attempt")
    assert status.score == status.max_score == 5.5  # 1 + 2 + 1 + 1.5
    result = call("results.results_result", attempt.id, client=me).parsed
    assert isinstance(result, Result) and result.percentage == 100
    final = {**answers, str(multiple.id): ["A", "C"]}
    assert {r.question_id: r.response for r in result.results} == final

    # The admin: change a key, regrade as a dry run (nothing changes), then for real.
    boss = signed_in(admin)
    patched = QuestionPatch(correct_answer="C")
    call("questions.questions_question_item_patch", single.id, client=boss, body=patched)

    def finished(job_id):
        def check():
            job = call("jobs.jobs_job", job_id, client=boss).parsed
            assert isinstance(job, Job)
            return job if job.status in ("succeeded", "failed") else None

        return wait_until(check, 60, f"job {job_id}")

    dry = call("jobs.jobs_regrade", exam_id, client=boss, body=RegradeIn(dry_run=True)).parsed
    job = finished(dry.job_id)
    assert job.status == "succeeded" and job.changed == 1
    changes = job.report.to_dict()["changes"]
    assert [(c["old_score"], c["new_score"]) for c in changes] == [(5.5, 4.5)]
    still = call("attempts.attempts_status", attempt.id, client=me).parsed
    assert still.score == 5.5  # a dry run changes nothing

    real = call("jobs.jobs_regrade", exam_id, client=boss).parsed  # no body: a real regrade
    assert finished(real.job_id).status == "succeeded"
    deadline = time.monotonic() + 30
    while call("attempts.attempts_status", attempt.id, client=me).parsed.score != 4.5:
        assert time.monotonic() < deadline, "the regrade never reached the attempt"
        time.sleep(0.2)
