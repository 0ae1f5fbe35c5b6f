{{- define "medqc.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "medqc.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "medqc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: medqc
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "medqc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "medqc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The Temporal worker's pods: a name of their own, so the serve selectors (Service, PDB, HPA,
NetworkPolicy) never pick them. */}}
{{- define "medqc.workerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "medqc.name" . }}-worker
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end -}}

{{/* "true" when the Temporal worker runs as its own Deployment (worker.enabled and a Temporal address);
otherwise empty, and each serve pod runs the worker as a child process (MEDQC_TEMPORAL_WORKER=process). */}}
{{- define "medqc.workerEnabled" -}}
{{- if and .Values.worker.enabled .Values.temporal.address -}}true{{- end -}}
{{- end -}}

{{- define "medqc.vllmSelectorLabels" -}}
app.kubernetes.io/name: {{ include "medqc.name" . }}-vllm
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "medqc.secretName" -}}
{{- default (include "medqc.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "medqc.databaseSecretName" -}}
{{- default (printf "%s-database" (include "medqc.fullname" .)) .Values.postgresql.existingSecret -}}
{{- end -}}

{{/* The OpenAI-compatible base URL MedQC calls (MEDQC_LLM_BASE_URL), from the vLLM mode. */}}
{{- define "medqc.llmBaseUrl" -}}
{{- if eq .Values.vllm.mode "kserve" -}}
http://{{ include "medqc.fullname" . }}-vllm-predictor.{{ .Release.Namespace }}.svc.cluster.local/openai/v1
{{- else if eq .Values.vllm.mode "deployment" -}}
http://{{ include "medqc.fullname" . }}-vllm.{{ .Release.Namespace }}.svc.cluster.local:8000/v1
{{- end -}}
{{- end -}}

{{/* NetworkPolicy egress rules for a list of {cidr, port} or {namespace, podLabels, port} peers. */}}
{{- define "medqc.egressPeers" -}}
{{- range . }}
    - to:
        {{- if .cidr }}
        - ipBlock: {cidr: {{ .cidr }}}
        {{- else }}
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: {{ .namespace }}}
          {{- with .podLabels }}
          podSelector:
            matchLabels:
              {{- toYaml . | nindent 14 }}
          {{- end }}
        {{- end }}
      ports:
        - {protocol: TCP, port: {{ .port }}}
{{- end }}
{{- end -}}


{{/* NetworkPolicy egress of MedQC's pods (serve and the Temporal worker): DNS, then the EMR/FHIR server,
PostgreSQL and Temporal peers of networkPolicy.egress, and the in-namespace vLLM. */}}
{{- define "medqc.appEgress" }}
    - to:
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: kube-system}
          podSelector:
            matchLabels: {k8s-app: kube-dns}
      ports:
        - {protocol: UDP, port: 53}
        - {protocol: TCP, port: 53}
{{- include "medqc.egressPeers" .Values.networkPolicy.egress.fhir }}
{{- include "medqc.egressPeers" .Values.networkPolicy.egress.postgresql }}
{{- include "medqc.egressPeers" .Values.networkPolicy.egress.temporal }}
    {{- if eq .Values.vllm.mode "deployment" }}
    - to:
        - podSelector:
            matchLabels:
              {{- include "medqc.vllmSelectorLabels" . | nindent 14 }}
      ports:
        - {protocol: TCP, port: 8000}
    {{- end }}
{{- end -}}
