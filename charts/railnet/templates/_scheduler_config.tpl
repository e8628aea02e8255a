{{/* One entry of KubeSchedulerConfiguration.extenders. */}}
{{- define "railnet.extenderConfig" -}}
- urlPrefix: https://{{ include "railnet.extenderService" . }}.{{ .Release.Namespace }}.svc:443
  filterVerb: filter
  prioritizeVerb: prioritize
  weight: 5
  nodeCacheCapable: true
  enableHTTPS: true
  tlsConfig:
    # the CA bundle railnet keeps in ConfigMap <release>-extender-ca-bundle (cert-manager mode: the issuer's CA).
    # A file, not caData: the CA is made at run time and a chart-rendered caData would be reset by every upgrade.
    # kube-scheduler reads it only at start; the extender rolls this scheduler when the bundle changes.
    caFile: /etc/railnet/extender-ca/ca.crt
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
