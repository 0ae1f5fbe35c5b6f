"""The Helm chart renders both tracks from one image: track A elastic (HPA on CPU and requests/s, KServe
vLLM), track B on-premises (default-deny egress, fixed replicas, one GPU). Schema validation of the
Kubernetes kinds runs in ``.ci/helm.sh``; this checks what the schemas cannot: the deployment choices,
and the custom resources (ServiceMonitor, InferenceService) whose schemas are not Kubernetes'."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "medqc"
HELM = ROOT / "var" / "ci-tools" / "helm" / "helm"

pytestmark = pytest.mark.skipif(not HELM.exists(), reason="helm not installed (.ci/helm.sh install)")


def render(*values: str, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    args = [str(HELM), "template", "medqc", str(CHART), "--namespace", "medqc"]
    for name in values:
        args += ["-f", str(CHART / name)]
    result = subprocess.run([*args, *extra], capture_output=True, text=True, timeout=60, check=True)
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def kinds(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in kinds(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def track_a() -> list[dict[str, Any]]:
    return render("values-track-a.yaml")


@pytest.fixture(scope="module")
def track_b() -> list[dict[str, Any]]:
    return render("values-track-b.yaml")


def medqc_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pod = one(docs, "Deployment", "medqc")["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "medqc")


@pytest.mark.parametrize("track", ["track_a", "track_b"])
def test_medqc_pod_is_hardened_and_probed(track: str, request: pytest.FixtureRequest) -> None:
    docs = request.getfixturevalue(track)
    pod = one(docs, "Deployment", "medqc")["spec"]["template"]["spec"]
    container = medqc_container(docs)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    var = next(m for m in container["volumeMounts"] if m["name"] == "var")
    assert var["mountPath"] == "/home/medqc/var"
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == "var")
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["limits"]["memory"]
    assert pod["initContainers"][0]["command"] == ["medqc", "migrate"]


@pytest.mark.parametrize("track", ["track_a", "track_b"])
def test_configuration_comes_from_secrets_and_the_config_map(
    track: str, request: pytest.FixtureRequest
) -> None:
    docs = request.getfixturevalue(track)
    env = {e["name"]: e for e in medqc_container(docs)["env"]}
    assert env["MEDQC_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "medqc-postgres",
        "key": "database-url",
    }
    secret = one(docs, "Secret", "medqc")
    assert "MEDQC_CDS_ISSUERS" in secret["stringData"]
    config = one(docs, "ConfigMap", "medqc")["data"]
    assert config["MEDQC_BASE_URL"].startswith("https://")
    assert config["MEDQC_TEMPORAL_ADDRESS"]
    assert config["MEDQC_LLM_BASE_URL"].startswith("http://medqc-vllm")
    assert (
        one(docs, "PodDisruptionBudget", "medqc")["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        == "medqc"
    )
    assert (
        one(docs, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "medqc"
    )


def test_both_tracks_run_the_same_image(track_a: list[dict[str, Any]], track_b: list[dict[str, Any]]) -> None:
    assert medqc_container(track_a)["image"] == medqc_container(track_b)["image"]


def test_track_a_is_elastic(track_a: list[dict[str, Any]]) -> None:
    hpa = one(track_a, "HorizontalPodAutoscaler")
    metrics = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert metrics["Resource"]["resource"]["name"] == "cpu"
    assert metrics["Pods"]["pods"]["metric"]["name"] == "medqc_http_requests_per_second"
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    assert "replicas" not in one(track_a, "Deployment", "medqc")["spec"]  # the HPA owns the count
    predictor = one(track_a, "InferenceService")["spec"]["predictor"]
    assert 1 <= predictor["minReplicas"] < predictor["maxReplicas"]
    assert predictor["model"]["modelFormat"]["name"] == "huggingface"
    assert "--backend=vllm" in predictor["model"]["args"]
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert kinds(track_a, "NetworkPolicy") == []  # open egress


def test_track_b_denies_by_default_and_allows_only_its_dependencies(track_b: list[dict[str, Any]]) -> None:
    deny = one(track_b, "NetworkPolicy", "medqc-default-deny")["spec"]
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny
    egress = one(track_b, "NetworkPolicy", "medqc")["spec"]["egress"]
    ports = sorted({p["port"] for rule in egress for p in rule["ports"]})
    assert ports == [53, 443, 5432, 7233, 8000]  # DNS, EMR/FHIR, PostgreSQL, Temporal, vLLM
    peers = [peer for rule in egress for peer in rule["to"]]
    assert all("ipBlock" not in p or p["ipBlock"]["cidr"] != "0.0.0.0/0" for p in peers)
    vllm_policy = one(track_b, "NetworkPolicy", "medqc-vllm")["spec"]
    assert "Egress" in vllm_policy["policyTypes"]
    assert "egress" not in vllm_policy
    assert kinds(track_b, "HorizontalPodAutoscaler") == []
    assert one(track_b, "Deployment", "medqc")["spec"]["replicas"] == 2
    vllm = one(track_b, "Deployment", "medqc-vllm")["spec"]
    assert vllm["replicas"] == 1
    container = vllm["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"name": "HF_HUB_OFFLINE", "value": "1"} in container["env"]
    assert kinds(track_b, "InferenceService") == []


@pytest.mark.parametrize("track", ["track_a", "track_b"])
def test_service_monitor_scrapes_the_service(track: str, request: pytest.FixtureRequest) -> None:
    docs = request.getfixturevalue(track)
    monitor = one(docs, "ServiceMonitor")
    service = one(docs, "Service", "medqc")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    labels = service["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in monitor["spec"]["selector"]["matchLabels"].items())
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def pod_labels(docs: list[dict[str, Any]], name: str) -> dict[str, str]:
    return one(docs, "Deployment", name)["spec"]["template"]["metadata"]["labels"]


@pytest.mark.parametrize("track", ["track_a", "track_b"])
def test_the_temporal_worker_is_a_deployment_of_its_own(track: str, request: pytest.FixtureRequest) -> None:
    docs = request.getfixturevalue(track)
    assert one(docs, "ConfigMap", "medqc")["data"]["MEDQC_TEMPORAL_ADDRESS"]
    deployment = one(docs, "Deployment", "medqc-worker")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["medqc", "worker"]
    assert container["image"] == medqc_container(docs)["image"]
    assert container["envFrom"] == medqc_container(docs)["envFrom"]  # the same ConfigMap and Secret
    env = {e["name"]: e for e in container["env"]}
    serve_env = {e["name"]: e for e in medqc_container(docs)["env"]}
    assert env["MEDQC_DATABASE_URL"] == serve_env["MEDQC_DATABASE_URL"]  # the same database Secret
    assert "MEDQC_TEMPORAL_WORKER" not in env
    assert not {"ports", "livenessProbe", "readinessProbe", "startupProbe"} & container.keys()  # no HTTP
    assert "initContainers" not in pod  # migrations stay with the serve pods
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == "var")
    assert container["resources"]["limits"]["memory"]
    assert deployment["spec"]["replicas"] >= 1
    # Serve hands the durable steps to it: no worker child in the HTTP pods.
    assert serve_env["MEDQC_TEMPORAL_WORKER"] == {"name": "MEDQC_TEMPORAL_WORKER", "value": "off"}
    # Nothing aimed at the serve pods selects a worker pod, and the worker's PDB selects only workers.
    worker, serve = pod_labels(docs, "medqc-worker"), pod_labels(docs, "medqc")
    assert worker["app.kubernetes.io/component"] == "worker"
    assert selects(deployment["spec"]["selector"]["matchLabels"], worker)
    assert not selects(deployment["spec"]["selector"]["matchLabels"], serve)
    assert selects(one(docs, "Service", "medqc")["spec"]["selector"], serve)
    assert not selects(one(docs, "Service", "medqc")["spec"]["selector"], worker)
    assert not selects(one(docs, "PodDisruptionBudget", "medqc")["spec"]["selector"]["matchLabels"], worker)
    assert not selects(one(docs, "ServiceMonitor")["spec"]["selector"]["matchLabels"], worker)
    worker_pdb = one(docs, "PodDisruptionBudget", "medqc-worker")["spec"]["selector"]["matchLabels"]
    assert selects(worker_pdb, worker)
    assert not selects(worker_pdb, serve)


def test_track_b_lets_the_worker_reach_what_serve_reaches(track_b: list[dict[str, Any]]) -> None:
    worker, serve = pod_labels(track_b, "medqc-worker"), pod_labels(track_b, "medqc")
    deny = one(track_b, "NetworkPolicy", "medqc-default-deny")["spec"]
    assert selects(deny["podSelector"]["matchLabels"], worker)
    assert not selects(one(track_b, "NetworkPolicy", "medqc")["spec"]["podSelector"]["matchLabels"], worker)
    policy = one(track_b, "NetworkPolicy", "medqc-worker")["spec"]
    assert selects(policy["podSelector"]["matchLabels"], worker)
    assert not selects(policy["podSelector"]["matchLabels"], serve)
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in policy  # it listens on no port
    assert policy["egress"] == one(track_b, "NetworkPolicy", "medqc")["spec"]["egress"]
    vllm_from = one(track_b, "NetworkPolicy", "medqc-vllm")["spec"]["ingress"][0]["from"]
    assert any(selects(peer["podSelector"]["matchLabels"], worker) for peer in vllm_from)


@pytest.mark.parametrize("setting", ["temporal.address=", "worker.enabled=false"])
def test_without_a_worker_deployment_serve_keeps_its_worker_child(setting: str) -> None:
    docs = render("values-track-b.yaml", extra=("--set", setting))
    assert [d["metadata"]["name"] for d in kinds(docs, "Deployment")] == ["medqc", "medqc-vllm"]
    assert "medqc-worker" not in {d["metadata"]["name"] for d in docs}  # no PDB, no NetworkPolicy either
    assert "MEDQC_TEMPORAL_WORKER" not in {e["name"] for e in medqc_container(docs)["env"]}
    assert "MEDQC_TEMPORAL_WORKER" not in one(docs, "ConfigMap", "medqc")["data"]  # the default: process
    vllm_from = one(docs, "NetworkPolicy", "medqc-vllm")["spec"]["ingress"][0]["from"]
    assert len(vllm_from) == 1


def test_postgresql_is_required() -> None:
    args = [str(HELM), "template", "medqc", str(CHART)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "PostgreSQL is external" in result.stderr
