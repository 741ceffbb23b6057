{{/* Names and labels shared by every template. */}}

{{- define "llm-gateway.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "llm-gateway.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The labels a Deployment selects its pods by, and a Service its endpoints by. */}}
{{- define "llm-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llm-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "llm-gateway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "llm-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "llm-gateway.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "llm-gateway.secretName" -}}
{{- .Values.secret.existingSecret | default (include "llm-gateway.fullname" .) -}}
{{- end -}}

{{- define "llm-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "llm-gateway.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The policy files: the chart's files/, each replaced or added by config.files. */}}
{{- define "llm-gateway.configFiles" -}}
{{- $files := dict -}}
{{- range $path, $_ := .Files.Glob "files/*.yaml" -}}
{{- $_ := set $files (base $path) ($.Files.Get $path) -}}
{{- end -}}
{{- range $name, $content := .Values.config.files -}}
{{- $_ := set $files $name $content -}}
{{- end -}}
{{- toYaml $files -}}
{{- end -}}

{{/* The container environment: settings from values, secrets from the Secret. */}}
{{- define "llm-gateway.env" -}}
- name: GATEWAY_HOST
  value: "0.0.0.0"
- name: GATEWAY_PORT
  value: "8000"
- name: GATEWAY_WORKERS
  value: "1"
- name: GATEWAY_CONFIG_DIR
  value: /app/config
- name: GATEWAY_DB_AUTO_MIGRATE
  value: {{ (not .Values.migration.enabled) | toString | quote }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "llm-gateway.securityContext" -}}
{{- toYaml .Values.securityContext -}}
{{- end -}}
