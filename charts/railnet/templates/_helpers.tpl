{{/* Name of an object of this release: <release>-<component>, or just <release> when component is empty. */}}
{{- define "railnet.fullname" -}}
{{- if .component -}}
{{- printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "railnet.labels" -}}
app.kubernetes.io/name: railnet
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "railnet.selectorLabels" -}}
app.kubernetes.io/name: railnet
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Image reference of a railnet binary: .name is the image name. */}}
{{- define "railnet.image" -}}
{{- $registry := .root.Values.image.registry -}}
{{- if .root.Values.global.imageRegistryOverride }}{{ $registry = .root.Values.global.imageRegistryOverride }}{{ end -}}
{{- printf "%s/%s/%s:%s" $registry .root.Values.image.repository .name (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{/* The RDMA resource names the device plugin config serves: prefix/name. */}}
{{- define "railnet.rdmaResources" -}}
{{- $out := list -}}
{{- range .Values.rdma.rdmaSharedDevicePlugin.config.configList -}}
{{- $out = append $out (printf "%s/%s" (.resourcePrefix | default "rdma") .resourceName) -}}
{{- end -}}
{{- if .Values.extender.managedResources }}{{ $out = .Values.extender.managedResources }}{{ end -}}
{{- toJson $out -}}
{{- end -}}

{{/* Whether the extender keeps the scheduler configurations' managedResources following the device plugin ConfigMap. */}}
{{- define "railnet.followDevicePlugin" -}}
{{- and .Values.rdma.rdmaSharedDevicePlugin.install (not .Values.extender.managedResources) -}}
{{- end -}}

{{- define "railnet.webhookService" -}}{{ include "railnet.fullname" (dict "root" . "component" "webhook") }}{{- end -}}
{{- define "railnet.extenderService" -}}{{ include "railnet.fullname" (dict "root" . "component" "extender") }}{{- end -}}

{{/* Spiderpool's keys the seed guide sets (spiderpoolController.*, spiderpoolAgent.*) turn railnet's on too. */}}
{{- define "railnet.injectEnabled" -}}
{{- or .Values.webhook.podResourceInject.enabled .Values.spiderpoolController.podResourceInject.enabled -}}
{{- end -}}

{{- define "railnet.agentMetrics" -}}
{{- or .Values.nodeAgent.prometheus.enabled .Values.spiderpoolAgent.prometheus.enabled -}}
{{- end -}}

{{- define "railnet.agentRdmaMetrics" -}}
{{- or .Values.nodeAgent.prometheus.enabledRdmaMetric .Values.spiderpoolAgent.prometheus.enabledRdmaMetric -}}
{{- end -}}
