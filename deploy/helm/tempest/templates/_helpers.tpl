{{/* Names: the release's full name (e.g. "tempest"), and one per component. */}}
{{- define "tempest.fullname" -}}
{{- if contains "tempest" .Release.Name -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}{{- else -}}{{ printf "%s-tempest" .Release.Name | trunc 40 | trimSuffix "-" }}{{- end -}}
{{- end -}}
{{- define "tempest.workerName" -}}{{ include "tempest.fullname" . }}-worker{{- end -}}
{{- define "tempest.controllerName" -}}{{ include "tempest.fullname" . }}-controller{{- end -}}

{{- define "tempest.labels" -}}
app.kubernetes.io/name: tempest
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "tempest.image" -}}
{{- $repo := required "image.repository is required: there is no public Tempest image; build deploy/Dockerfile and push it to your registry" .Values.image.repository -}}
{{- if .Values.image.digest -}}{{ printf "%s@%s" $repo .Values.image.digest }}{{- else -}}{{ printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) }}{{- end -}}
{{- end -}}

{{/* tempest.yaml: the operator's policy plus what the chart knows (Temporal, in-cluster platform, metrics, controller). */}}
{{- define "tempest.config" -}}
{{- $reserved := list "temporal" "platform" "metrics" "controller" "state" "reports" -}}
{{- range $k, $_ := .Values.policy -}}
{{- if has $k $reserved -}}{{- fail (printf "policy.%s: set it with the chart's own values (temporal, metrics, controller), not in policy" $k) -}}{{- end -}}
{{- end -}}
{{- $t := dict "address" (required "temporal.address is required (host:port of the Temporal frontend)" .Values.temporal.address) "namespace" .Values.temporal.namespace "taskQueue" .Values.temporal.taskQueue "searchAttributes" .Values.temporal.searchAttributes -}}
{{- if .Values.temporal.uiUrl -}}{{- $_ := set $t "uiUrl" .Values.temporal.uiUrl -}}{{- end -}}
{{- if .Values.temporal.tls.enabled -}}
{{- $tls := dict -}}
{{- if .Values.temporal.tls.serverName -}}{{- $_ := set $tls "serverName" .Values.temporal.tls.serverName -}}{{- end -}}
{{- if .Values.temporal.tls.secretName -}}{{- $_ := set $tls "caFile" "/etc/tempest/temporal-tls/ca.crt" -}}{{- end -}}
{{- if .Values.temporal.tls.mtls -}}{{- $_ := set $tls "certFile" "/etc/tempest/temporal-tls/tls.crt" -}}{{- $_ := set $tls "keyFile" "/etc/tempest/temporal-tls/tls.key" -}}{{- end -}}
{{- $_ := set $t "tls" $tls -}}
{{- end -}}
{{- if .Values.temporal.apiKeySecret.name -}}{{- $_ := set $t "apiKeyEnv" "TEMPORAL_API_KEY" -}}{{- end -}}
{{- $allow := list -}}
{{- range .Values.targetNamespaces -}}{{- $allow = append $allow (dict "namespace" .) -}}{{- end -}}
{{- $k8s := dict -}}
{{- if eq (include "tempest.impersonateMode" .) "required" -}}{{- $_ := set $k8s "impersonate" (dict "mode" "required" "serviceAccounts" .Values.impersonate.serviceAccounts) -}}{{- end -}}
{{- $cfg := dict "temporal" $t "platform" (dict "driver" "kubernetes" "kubernetes" $k8s) "metrics" (dict "port" (int .Values.metrics.port) "host" "0.0.0.0") "state" (dict "dir" "/var/lib/tempest/state") "reports" (dict "dir" "/var/lib/tempest/reports") -}}
{{- $_ := set $cfg "controller" (dict "engines" .Values.controller.engines "crossNamespaceFrom" .Values.controller.crossNamespaceFrom "namespace" .Release.Namespace "leaseName" (include "tempest.controllerName" .) "leaseDuration" .Values.controller.leaseDuration "resync" .Values.controller.resync) -}}
{{- $p := deepCopy .Values.policy -}}
{{- if not (hasKey $p "blastRadius") -}}{{- $_ := set $p "blastRadius" (dict "allow" $allow) -}}{{- end -}}
{{- toYaml (merge $cfg $p) -}}
{{- end -}}

{{/* Environment both containers get: their namespace and name, the Temporal API key (the worker adds secretEnv). */}}
{{- define "tempest.env" -}}
- name: POD_NAMESPACE
  valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
- name: POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
{{- if .Values.temporal.apiKeySecret.name }}
- name: TEMPORAL_API_KEY
  valueFrom: { secretKeyRef: { name: {{ .Values.temporal.apiKeySecret.name | quote }}, key: {{ .Values.temporal.apiKeySecret.key | quote }} } }
{{- end }}
{{- end -}}

{{- define "tempest.volumes" -}}
- name: config
  configMap: { name: {{ include "tempest.fullname" . }}-config }
- name: tmp
  emptyDir: {}
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.secretName }}
- name: temporal-tls
  secret: { secretName: {{ .Values.temporal.tls.secretName | quote }} }
{{- end }}
{{- end -}}

{{- define "tempest.mounts" -}}
- { name: config, mountPath: /etc/tempest, readOnly: true }
- { name: tmp, mountPath: /tmp }
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.secretName }}
- { name: temporal-tls, mountPath: /etc/tempest/temporal-tls, readOnly: true }
{{- end }}
{{- end -}}

{{/* impersonate.mode, normalised: "off" (also an unquoted off, which YAML reads as false, or nothing) or "required". */}}
{{- define "tempest.impersonateMode" -}}
{{- $m := toString (default "off" .Values.impersonate.mode) -}}
{{- if has $m (list "off" "false" "<nil>" "") -}}off
{{- else if eq $m "required" -}}
{{- if not .Values.impersonate.serviceAccounts -}}{{- fail "impersonate.mode required needs impersonate.serviceAccounts (the accounts runs may act as)" -}}{{- end -}}
required
{{- else -}}{{- fail (printf "impersonate.mode: %s is neither off nor required" $m) -}}{{- end -}}
{{- end -}}

{{/* The policy's secrets (secretEnv), for the worker only: the controller runs no guard or action that needs them. */}}
{{- define "tempest.secretEnv" -}}
{{- range .Values.secretEnv }}
- name: {{ required "secretEnv[].env is required" .env | quote }}
  valueFrom: { secretKeyRef: { name: {{ required "secretEnv[].secretName is required" .secretName | quote }}, key: {{ required "secretEnv[].key is required" .key | quote }} } }
{{- end }}
{{- end -}}
