{{/*
railnet serves Spiderpool's API (SpiderIPPool, SpiderMultusConfig, the inject annotations): with Spiderpool installed,
two webhooks would mutate the same pods and two IPAMs would hand out the same pools. `helm install` refuses then, at
install time (lookup needs the cluster; `helm template` renders without it).
*/}}
{{- define "railnet.refuseSpiderpool" -}}
{{- $sp := lookup "admissionregistration.k8s.io/v1" "MutatingWebhookConfiguration" "" "spiderpool-controller" -}}
{{- if $sp -}}
{{- fail "Spiderpool is installed (MutatingWebhookConfiguration spiderpool-controller): railnet serves the same SpiderIPPool / SpiderMultusConfig API and the same inject annotations, so both would mutate the same pods and allocate from the same pools. Uninstall Spiderpool first (helm uninstall spiderpool -n <its namespace>); your SpiderIPPools and SpiderMultusConfigs stay and railnet serves them (see the operator guide, \"Migrating from Spiderpool\")." -}}
{{- end -}}
{{- end -}}
