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
