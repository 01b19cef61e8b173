"""Render a kustomization in Python, for the offline checks of deploy/k8s.

Only what deploy/k8s uses: `resources` (files and folders), `namespace`, `images` and
inline JSON 6902 `patches` with a kind/name target. Any other field fails loudly, so this
can't silently render something different from kustomize; where `kubectl` is installed,
tests/unit/test_k8s_manifests.py also compares the two renderings object by object.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass"}


class Unsupported(Exception):
    """The kustomization uses something this renderer does not implement."""


def render(folder: Path) -> list[dict[str, Any]]:
    """Every object the kustomization in `folder` produces, in resource order."""
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise Unsupported(f"{folder}: {sorted(unknown)} not implemented in kustomize_lite")
    objects: list[dict[str, Any]] = []
    for entry in spec.get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            objects.extend(render(path))
        else:
            objects.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for patch in spec.get("patches", []):
        _apply_patch(objects, patch)
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        for container in containers(objects):
            container["image"] = _retag(container["image"], image)
    return objects


def containers(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every container and init container of every workload."""
    found = []
    for obj in objects:
        pod = pod_spec(obj)
        if pod:
            found += pod.get("initContainers", []) + pod.get("containers", [])
    return found


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template's spec of a Deployment, StatefulSet or Job (None for other kinds)."""
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return obj["spec"]["template"]["spec"]
    return None


def _retag(reference: str, image: dict[str, str]) -> str:
    name, tag, digest = _split(reference)
    if name != image["name"]:
        return reference
    name = image.get("newName", name)
    tag = str(image.get("newTag", tag or "")) or None
    digest = image.get("digest", digest)
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _split(reference: str) -> tuple[str, str | None, str | None]:
    reference, _, digest = reference.partition("@")
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:  # a colon in the last part is a tag; before it, a registry's port
        reference, tag = reference.rsplit(":", 1)
        return reference, tag, digest or None
    return reference, None, digest or None


def _apply_patch(objects: list[dict[str, Any]], patch: dict[str, Any]) -> None:
    if set(patch) != {"target", "patch"} or set(patch["target"]) - {"kind", "name"}:
        raise Unsupported(f"only inline patches with a kind/name target: {patch}")
    operations = yaml.safe_load(patch["patch"])
    if not isinstance(operations, list):
        raise Unsupported("only JSON 6902 patches (a list of operations)")
    target = patch["target"]
    matched = [
        o
        for o in objects
        if o["kind"] == target.get("kind", o["kind"])
        and o["metadata"]["name"] == target.get("name", o["metadata"]["name"])
    ]
    if not matched:
        raise ValueError(f"patch target {target} matches nothing")
    for obj in matched:
        for operation in operations:
            _apply_operation(obj, operation)


def _apply_operation(obj: dict[str, Any], operation: dict[str, Any]) -> None:
    op, path = operation["op"], operation["path"]
    if op not in ("add", "replace", "remove"):
        raise Unsupported(f"JSON patch op {op!r}")
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    node: Any = obj
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if op == "add":
            node.insert(index, copy.deepcopy(operation["value"]))
        elif op == "replace":
            node[index] = copy.deepcopy(operation["value"])
        else:
            del node[index]
        return
    if op in ("replace", "remove") and last not in node:
        raise ValueError(f"{op} {path}: no such field in {obj['kind']}/{obj['metadata']['name']}")
    if op == "remove":
        del node[last]
    else:
        node[last] = copy.deepcopy(operation["value"])
