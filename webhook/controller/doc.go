// Package controller keeps what the admission webhook relies on in the
// cluster: a NetworkAttachmentDefinition for every SpiderMultusConfig
// (rendered by webhook/nad, owned by the config, updated when it changes and
// recreated when deleted, with events on the config saying what became of
// it), and the namespace label that lets the pod
// webhook's namespaceSelector see a namespace's inject annotation.
package controller
