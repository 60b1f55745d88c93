"""Validate deploy/kubernetes offline: every manifest against the Kubernetes JSON schemas.

Kubernetes objects are checked by kubernetes-validate (the schemas ship inside the package, so
nothing is fetched), strictly: an unknown field is an error. No package ships KServe's
InferenceService CRD schema (the kserve wheel carries generated Python models, no CRD), so the
InferenceService is checked against the fields this project relies on: its predictor is a pod
spec, whose containers and volumes are validated as those of a Kubernetes Pod.

Usage: ``python deploy/validate.py [--kubernetes-version 1.30.0]`` (exits 1 on any error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

MANIFESTS = Path(__file__).resolve().parent / "kubernetes"
KSERVE = ("serving.kserve.io/v1beta1", "InferenceService")
PREDICTOR_FIELDS = {"containers", "volumes", "minReplicas", "maxReplicas", "serviceAccountName"}


def _kserve_errors(doc: dict[str, Any], version: str) -> list[str]:
    """What is wrong with an InferenceService, as far as can be checked without its CRD."""
    errors = []
    if not doc.get("metadata", {}).get("name"):
        errors.append("metadata.name is required")
    predictor = doc.get("spec", {}).get("predictor")
    if not isinstance(predictor, dict) or not predictor.get("containers"):
        return [*errors, "spec.predictor.containers is required for a custom predictor"]
    unknown = set(predictor) - PREDICTOR_FIELDS
    if unknown:
        errors.append(f"spec.predictor: fields not used by this project: {sorted(unknown)}")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": doc["metadata"]["name"]},
        "spec": {k: predictor[k] for k in ("containers", "volumes") if k in predictor},
    }
    try:
        kubernetes_validate.validate(pod, version, strict=True)
    except kubernetes_validate.ValidationError as e:
        errors.append(f"spec.predictor as a pod spec: {e.message}")
    errors += _kserve_port_errors(predictor["containers"])
    return errors


def _kserve_port_errors(containers: list[dict[str, Any]]) -> list[str]:
    """KServe routes one port: 8080 for HTTP, or the port named h2c for gRPC, which the
    service's gRPC server must then listen on (FORECAST_GRPC_PORT)."""
    ports = [p for c in containers for p in c.get("ports", [])]
    if len(ports) != 1:
        return [f"KServe routes one port per predictor; {len(ports)} are declared"]
    (port,) = ports
    if port.get("name") != "h2c":
        ok = port.get("containerPort") == 8080
        return [] if ok else ["KServe routes HTTP to port 8080: the container must listen there"]
    env = {e["name"]: e.get("value") for c in containers for e in c.get("env", [])}
    if env.get("FORECAST_GRPC_PORT") != str(port.get("containerPort")):
        return [
            f"the h2c port is {port.get('containerPort')} but FORECAST_GRPC_PORT is"
            f" {env.get('FORECAST_GRPC_PORT')!r}: the gRPC server must listen on the routed port"
        ]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes-version", default="1.30.0")
    args = parser.parse_args(argv)
    failures = 0
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            what = f"{path.name}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            if (doc.get("apiVersion"), doc.get("kind")) == KSERVE:
                errors = _kserve_errors(doc, args.kubernetes_version)
            else:
                try:
                    kubernetes_validate.validate(doc, args.kubernetes_version, strict=True)
                    errors = []
                except (
                    kubernetes_validate.ValidationError,
                    kubernetes_validate.SchemaNotFoundError,
                ) as e:
                    errors = [getattr(e, "message", str(e))]
            failures += bool(errors)
            print(
                f"{'ok  ' if not errors else 'FAIL'} {what}"
                + "".join(f"\n     {e}" for e in errors)
            )
    print(
        f"{'all valid' if not failures else f'{failures} invalid'} (Kubernetes {args.kubernetes_version})"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
