// Package controller keeps what the admission webhook relies on in the
// cluster: a NetworkAttachmentDefinition for every SpiderMultusConfig
// (rendered by webhook/nad, owned by the config, updated when it changes and
// recreated when deleted, with events on the config saying what became of
// it), the namespace label that lets the pod
// webhook's namespaceSelector see a namespace's inject annotation, and (DRA
// mode, DRAReconciler) each DRA-mode inject group's network and its claim
// templates in the namespaces that name the group, planned by the pure
// PlanDRA.
package controller
