{{/*
One entry of KubeSchedulerConfiguration.extenders for .root. Without .loopback: the extender's Service in HTTPS (needs
cluster DNS). With .loopback: an extender on 127.0.0.1 in plain HTTP, the traffic never leaving the node or the pod —
for a kube-scheduler on a control-plane node's host network (kubeadm's static pod: no cluster DNS, no ConfigMap
mounts) beside extender.controlPlane's DaemonSet, and for the chart's secondary scheduler with its extender container.
*/}}
{{- define "railnet.extenderEntry" -}}
{{- $loopback := .loopback -}}
{{- with .root -}}
{{- if $loopback -}}
- urlPrefix: http://127.0.0.1:{{ .Values.extender.controlPlane.port }}
{{- else -}}
- urlPrefix: https://{{ include "railnet.extenderService" . }}.{{ .Release.Namespace }}.svc:443
{{- end }}
  filterVerb: filter
  prioritizeVerb: prioritize
  weight: 5
  nodeCacheCapable: true
  {{- if not $loopback }}
  enableHTTPS: true
  tlsConfig:
    # the CA bundle railnet keeps in ConfigMap <release>-extender-ca-bundle (cert-manager mode: the issuer's CA).
    # A file, not caData: the CA is made at run time and a chart-rendered caData would be reset by every upgrade.
    # kube-scheduler reads it only at start: when your scheduler is a Deployment in this namespace, install with
    # extender.schedulerDeployment=<its name> to have it rolled when the bundle changes.
    caFile: /etc/railnet/extender-ca/ca.crt
    {{- if .Values.extender.requireClientCert }}
    # the scheduler's client certificate: the extender answers only it (mTLS). Mount Secret
    # {{ include "railnet.schedulerClientSecret" . }} here (tls.crt, tls.key); renewals are re-read without a restart.
    certFile: /etc/railnet/extender-client/tls.crt
    keyFile: /etc/railnet/extender-client/tls.key
    {{- end }}
  {{- end }}
  httpTimeout: {{ .Values.extender.httpTimeout }}
  # preemption cannot fix a broken rail; the extender itself says which failures are unresolvable
  ignorable: false
  managedResources:
  {{- range (include "railnet.rdmaResources" . | fromJsonArray) }}
    - name: {{ . }}
      # keep false: the scheduler keeps counting RDMA shares; the extender adds rail health and pool room
      ignoredByScheduler: false
  {{- end }}
{{- end -}}
{{- end -}}

{{/* The Secret holding the scheduler's client certificate for the extender (mTLS). */}}
{{- define "railnet.schedulerClientSecret" -}}
{{ include "railnet.fullname" (dict "root" . "component" "scheduler") }}-client
{{- end -}}
