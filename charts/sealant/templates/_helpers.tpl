{{/* The controller's name: its Deployment and Service (kubeseal's default target is sealed-secrets-controller). */}}
{{- define "sealant.fullname" -}}
{{- default "sealed-secrets-controller" .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The namespace everything of the controller goes to. */}}
{{- define "sealant.namespace" -}}
{{- default .Release.Namespace .Values.namespace.name -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "sealant.labels" -}}
app.kubernetes.io/name: sealant-controller
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: sealant
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
The labels that select the controller's pods. The name only, as the manifests before the chart had it: a
Deployment's selector cannot change, so `kubectl apply` over an existing install keeps working.
*/}}
{{- define "sealant.selector" -}}
app.kubernetes.io/name: sealant-controller
{{- end -}}

{{/* The image reference: the digest when given (what a release pins), else the tag (default: the chart's appVersion). */}}
{{- define "sealant.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{/*
The controller's flags from .Values.controller: each value that is set becomes `--flag=value` (lists joined by
commas, maps as k=v pairs); unset (null) values keep the controller's own default.
*/}}
{{- define "sealant.flags" -}}
{{- $flags := dict
  "keyPrefix" "key-prefix"
  "keySize" "key-size"
  "keyTTL" "key-ttl"
  "keyRenewPeriod" "key-renew-period"
  "keyCutoffTime" "key-cutoff-time"
  "keyOrderPriority" "key-order-priority"
  "myCN" "my-cn"
  "privateKeyLabels" "privatekey-labels"
  "privateKeyAnnotations" "privatekey-annotations"
  "acceptDeprecatedV1Data" "accept-deprecated-v1-data"
  "allNamespaces" "all-namespaces"
  "additionalNamespaces" "additional-namespaces"
  "labelSelector" "label-selector"
  "updateStatus" "update-status"
  "skipRecreate" "skip-recreate"
  "watchForSecrets" "watch-for-secrets"
  "oldGCBehavior" "old-gc-behavior"
  "maxUnsealRetries" "max-unseal-retries"
  "concurrency" "concurrency"
  "rateLimit" "rate-limit"
  "rateLimitBurst" "rate-limit-burst"
  "trustedProxies" "trusted-proxies"
  "maxBodyBytes" "max-body-bytes"
  "readTimeout" "read-timeout"
  "writeTimeout" "write-timeout"
  "headerTimeout" "header-timeout"
  "maxConnections" "max-connections"
  "kubeclientQPS" "kubeclient-qps"
  "kubeclientBurst" "kubeclient-burst"
  "leaseName" "lease-name"
  "leaseDuration" "lease-duration"
  "logLevel" "log-level"
  "logFormat" "log-format"
  "logInfoStdout" "log-info-stdout"
  "escrowConfigMap" "escrow-configmap"
-}}
{{- range $key := keys $flags | sortAlpha }}
{{- $value := index $.Values.controller $key }}
{{- if not (kindIs "invalid" $value) }}
{{- $text := "" }}
{{- if kindIs "slice" $value }}
{{- $text = join "," $value }}
{{- else if kindIs "map" $value }}
{{- $pairs := list }}
{{- range $k, $v := $value }}{{ $pairs = append $pairs (printf "%s=%s" $k $v) }}{{ end }}
{{- $text = join "," $pairs }}
{{- else if and (kindIs "float64" $value) (eq $value (float64 (int64 $value))) }}
{{- $text = int64 $value | toString }}
{{- else }}
{{- $text = toString $value }}
{{- end }}
{{- /* Quoted: a value is one argument, whatever characters it holds (no YAML or argument injection). */}}
- {{ printf "--%s=%s" (index $flags $key) $text | quote }}
{{- end }}
{{- end }}
{{- end -}}
