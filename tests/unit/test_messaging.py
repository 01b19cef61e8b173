"""Task routing: what a student waits for never queues behind bulk work."""

from __future__ import annotations

import pytest

from shared.config import load_settings
from shared.messaging import (
    MAX_COUNTDOWN_SECONDS,
    VISIBILITY_TIMEOUT_SECONDS,
    TaskName,
    celery_config,
    create_celery,
)


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    settings = load_settings(
        VAR_DIR=str(tmp_path_factory.mktemp("var")), DATABASE_URL=None, REDIS_URL=None
    )
    return create_celery(settings).amqp.router


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        (TaskName.GRADE_ATTEMPT, "grading"),
        (TaskName.RESEND_UNGRADED, "grading"),
        (TaskName.EXPIRE_ATTEMPT, "grading"),
        (TaskName.EXPIRE_OVERDUE, "grading"),
        (TaskName.START_REGRADE, "bulk"),
        (TaskName.REGRADE_CHUNK, "bulk"),
        (TaskName.RESUME_STALLED_JOBS, "bulk"),
        (TaskName.SEND_EMAIL, "default"),
        (TaskName.PING, "default"),
    ],
)
def test_each_task_goes_to_its_queue(router, task, queue):
    assert router.route({}, task)["queue"].name == queue


def test_time_limits_fit_inside_the_visibility_timeout(tmp_path):
    config = celery_config(load_settings(VAR_DIR=str(tmp_path), DATABASE_URL=None, REDIS_URL=None))
    assert config["task_time_limit"] < MAX_COUNTDOWN_SECONDS < VISIBILITY_TIMEOUT_SECONDS
    assert config["broker_transport_options"]["visibility_timeout"] == VISIBILITY_TIMEOUT_SECONDS
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["accept_content"] == ["json"]
