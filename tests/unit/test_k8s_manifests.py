"""deploy/k8s, rendered offline: valid objects for each Kubernetes version named below, and
what an operator relies on (non-root read-only pods, probes, one beat, budgets, sizes)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from shared.config import Settings
from shared.messaging import ALL_QUEUES
from tests.unit.kustomize_lite import containers, pod_spec, render

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAY = K8S / "overlays" / "production"
# Checked against the schemas kubernetes-validate bundles: from the oldest minor we claim
# (docs/operations.md) to the newest it ships.
KUBERNETES_VERSIONS = ("1.30.0", "1.33.0", "1.37.0")
# Measured after the exam-day benchmark (docs/performance.md, section 6).
GUNICORN_WORKER_MB = 122
# The gunicorn master, idle, from the image's own install (docs/operations.md, "Resources").
GUNICORN_MASTER_MB = 87
CELERY_POOL_PROCESS_MB = 98
# Variables a process reads that are not settings: gunicorn's (deploy/gunicorn.conf.py).
PROCESS_VARIABLES = {"API_BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_WORKER_CLASS"}


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return render(OVERLAY)


def _by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if pod_spec(o) is not None]


def _command(obj: dict[str, Any]) -> list[str]:
    (container,) = pod_spec(obj)["containers"]
    return container["command"]


def _mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(Mi|Gi|M|G)", quantity).groups()
    factor = {"Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20}[unit]
    return float(number) * factor


def _replicas(obj: dict[str, Any], objects: list[dict[str, Any]]) -> int:
    """The fewest pods a Deployment runs: its HPA's minReplicas, else its replicas."""
    for hpa in _by_kind(objects, "HorizontalPodAutoscaler").values():
        if hpa["spec"]["scaleTargetRef"]["name"] == obj["metadata"]["name"]:
            return hpa["spec"]["minReplicas"]
    return obj["spec"].get("replicas", 1)


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl (with kustomize) not installed")
def test_the_test_renderer_agrees_with_kustomize(objects):
    out = subprocess.run(
        ["kubectl", "kustomize", str(OVERLAY)], capture_output=True, text=True, check=True
    ).stdout
    theirs = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(out) if o}
    ours = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    assert theirs.keys() == ours.keys()
    for key, obj in ours.items():
        assert theirs[key] == obj, key


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_for_the_kubernetes_version(objects, version):
    for obj in objects:
        # strict: an unknown field (a typo such as `readinesProbe`) is an error, not ignored
        kubernetes_validate.validate(obj, version, strict=True)


def test_production_renders_every_role_once(objects):
    deployments = _by_kind(objects, "Deployment")
    assert set(deployments) == {
        "exam-api",
        "exam-beat",
        "exam-flower",
        *(f"exam-worker-{q}" for q in ALL_QUEUES),
    }
    assert set(_by_kind(objects, "Job")) == {"exam-migrate"}
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {
        "exams"
    }


def test_every_container_is_non_root_read_only_and_unprivileged(objects):
    settings_var_dir = _by_kind(objects, "ConfigMap")["exam-config"]["data"]["VAR_DIR"]
    for obj in _workloads(objects):
        pod = pod_spec(obj)
        name = obj["metadata"]["name"]
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] > 0, name
        assert context["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        # Only scratch space is writable, and it is an emptyDir.
        assert all("emptyDir" in volume for volume in pod["volumes"]), name
        for container in pod.get("initContainers", []) + pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert security["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert security["capabilities"] == {"drop": ["ALL"]}, (name, container["name"])
            assert "privileged" not in security and "runAsUser" not in security
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert {"/tmp", settings_var_dir} <= mounts, (name, container["name"])


def test_the_image_user_is_the_user_the_pods_run_as(objects):
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    (user,) = re.findall(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)
    for obj in _workloads(objects):
        context = pod_spec(obj)["securityContext"]
        assert (str(context["runAsUser"]), str(context["runAsGroup"])) == user


def test_the_namespace_enforces_the_restricted_pod_security_level(objects):
    (namespace,) = _by_kind(objects, "Namespace").values()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_api_has_probes_a_service_an_autoscaler_and_the_procfile_command(objects):
    api = _by_kind(objects, "Deployment")["exam-api"]
    (container,) = pod_spec(api)["containers"]
    procfile = _procfile()
    assert container["command"] == procfile["web"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    config = _by_kind(objects, "ConfigMap")["exam-config"]["data"]
    assert ports["http"] == int(config["API_BIND"].rsplit(":", 1)[1])
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] == "http"
    # The autoscaler owns the count: an apply must not reset it.
    assert "replicas" not in api["spec"]
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    service = _by_kind(objects, "Service")["exam-api"]
    assert service["spec"]["selector"].items() <= pod_labels(api).items()
    assert _replicas(api, objects) >= 2


def test_one_worker_deployment_per_queue_each_with_its_own_autoscaler(objects):
    deployments = _by_kind(objects, "Deployment")
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]
        for h in _by_kind(objects, "HorizontalPodAutoscaler").values()
    }
    consumed = []
    for queue in ALL_QUEUES:
        worker = deployments[f"exam-worker-{queue}"]
        command = _command(worker)
        assert command[:4] == ["celery", "-A", "worker", "worker"], command
        consumed.append(command[command.index("-Q") + 1])
        assert worker["metadata"]["name"] in hpas
        assert "replicas" not in worker["spec"]
    assert sorted(consumed) == sorted(ALL_QUEUES)  # each queue by exactly one Deployment


def test_exactly_one_beat_stopped_before_its_successor_starts(objects):
    beats = [o for o in _workloads(objects) if "beat" in _command(o)]
    assert len(beats) == 1
    (beat,) = beats
    assert _command(beat) == _procfile()["beat"]
    assert beat["kind"] == "Deployment"
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    targets = [
        h["spec"]["scaleTargetRef"]["name"]
        for h in _by_kind(objects, "HorizontalPodAutoscaler").values()
    ]
    assert beat["metadata"]["name"] not in targets


def test_every_deployment_of_several_pods_has_a_budget_that_still_lets_a_node_drain(objects):
    budgets = list(_by_kind(objects, "PodDisruptionBudget").values())
    for deployment in _by_kind(objects, "Deployment").values():
        replicas = _replicas(deployment, objects)
        labels = pod_labels(deployment)
        matching = [
            b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        if replicas > 1:
            assert len(matching) == 1, deployment["metadata"]["name"]
        for budget in matching:
            spec = budget["spec"]
            assert spec.get("maxUnavailable", 0) >= 1 or spec["minAvailable"] < replicas


def test_requests_everywhere_and_memory_sized_from_the_measurements(objects):
    for container in containers(objects):
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), container["name"]
        request = _mebibytes(resources["requests"]["memory"])
        assert _mebibytes(resources["limits"]["memory"]) >= request, container["name"]
    config = _by_kind(objects, "ConfigMap")["exam-config"]["data"]
    api = pod_spec(_by_kind(objects, "Deployment")["exam-api"])["containers"][0]
    web_workers = int(config["WEB_CONCURRENCY"])
    mb = 1e6 / 2**20  # the measurements are in MB
    needed = (web_workers * GUNICORN_WORKER_MB + GUNICORN_MASTER_MB) * mb
    assert _mebibytes(api["resources"]["requests"]["memory"]) >= needed
    for queue in ALL_QUEUES:
        worker = pod_spec(_by_kind(objects, "Deployment")[f"exam-worker-{queue}"])["containers"][0]
        command = worker["command"]
        pool = int(command[command.index("--concurrency") + 1])
        # The pool processes and the main process, each about the measured size.
        needed = (pool + 1) * CELERY_POOL_PROCESS_MB * mb
        assert _mebibytes(worker["resources"]["requests"]["memory"]) >= needed, queue
        # A pool process is recycled before it could take the container past its limit.
        per_child_kib = int(command[command.index("--max-memory-per-child") + 1])
        limit = _mebibytes(worker["resources"]["limits"]["memory"])
        assert pool * per_child_kib / 1024 + CELERY_POOL_PROCESS_MB * mb <= limit, queue


def test_images_are_pinned_never_latest(objects):
    for container in containers(objects):
        image = container["image"]
        name, _, digest = image.partition("@")
        tag = name.rsplit("/", 1)[-1].partition(":")[2]
        assert tag or digest, image
        assert tag != "latest", image
        assert not digest or re.fullmatch(r"sha256:[0-9a-f]{64}", digest), image
    images = {c["image"] for c in containers(objects)}
    assert len(images) == 1  # every role runs the same release


def test_the_base_tag_is_the_release_in_setup_cfg():
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    (image,) = base["images"]
    assert image["newTag"] == _version()


def test_the_migration_runs_once_in_a_job_and_new_pods_wait_for_it(objects):
    job = _by_kind(objects, "Job")["exam-migrate"]
    assert _command(job) == ["alembic", "upgrade", "head"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"].get("parallelism", 1) == 1 and job["spec"].get("completions", 1) == 1
    for obj in _by_kind(objects, "Deployment").values():
        if obj["metadata"]["name"] == "exam-flower":
            continue  # Flower reads only the broker
        first = pod_spec(obj)["initContainers"][0]
        assert first["command"][:2] == ["python", "deploy/wait_for_schema.py"]
        assert (ROOT / first["command"][1]).is_file()


def test_config_names_only_variables_the_code_reads_with_values_it_accepts(objects, tmp_path):
    config = _by_kind(objects, "ConfigMap")["exam-config"]["data"]
    known = set(Settings.model_fields) | PROCESS_VARIABLES
    assert set(config) <= known, set(config) - known  # a misspelt name would be ignored
    values = {k: v for k, v in config.items() if k in Settings.model_fields}
    # Validated as the pods would (VAR_DIR aside: that path is the pods' emptyDir).
    values.update(
        VAR_DIR=tmp_path, DATABASE_URL=None, REDIS_URL=None, JWT_SECRET_KEY=None,
        RECEIPT_SIGNING_KEY=None,
    )  # fmt: skip
    Settings(**values)


def test_the_documented_secret_holds_settings_and_every_pod_reads_it(objects):
    docs = (ROOT / "docs" / "operations.md").read_text()
    command = docs.split("kubectl -n exams create secret generic exam-secrets", 1)[1]
    command = command.split("\n```", 1)[0]
    keys = set(re.findall(r"--from-literal=([A-Z_]+)=", command))
    assert {"DATABASE_URL", "REDIS_URL", "JWT_SECRET_KEY", "RECEIPT_SIGNING_KEY"} <= keys
    assert keys <= set(Settings.model_fields)
    for obj in _workloads(objects):
        for container in pod_spec(obj)["containers"]:
            sources = [s.get("secretRef", {}).get("name") for s in container["envFrom"]]
            assert "exam-secrets" in sources, obj["metadata"]["name"]


def test_flower_asks_for_a_password_and_is_not_exposed(objects):
    flower = _by_kind(objects, "Deployment")["exam-flower"]
    (container,) = pod_spec(flower)["containers"]
    assert _command(flower)[:4] == _procfile()["flower"][:4]
    (auth,) = [e for e in container["env"] if e["name"] == "FLOWER_BASIC_AUTH"]
    assert auth["valueFrom"]["secretKeyRef"]["name"] == "exam-flower"
    service = _by_kind(objects, "Service")["exam-flower"]
    assert service["spec"]["type"] == "ClusterIP"
    backends = {
        path["backend"]["service"]["name"]
        for ingress in _by_kind(objects, "Ingress").values()
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"exam-api"}
    assert all(
        s["spec"].get("type", "ClusterIP") == "ClusterIP"
        for s in _by_kind(objects, "Service").values()
    )


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    return obj["spec"]["template"]["metadata"]["labels"]


def _procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = shlex.split(command)
    return entries


def _version() -> str:
    (version,) = re.findall(r"^version = (\S+)$", (ROOT / "setup.cfg").read_text(), re.MULTILINE)
    return version
