// Package cniconf is the CNI configuration that railnet's webhook renders
// into NetworkAttachmentDefinitions and railnet's CNI plugins read: the
// plugin type names and the keys of the railnet-ipam section and of the
// railnet-coordinator entry, defined once for both sides. It imports nothing
// of Kubernetes, so the plugins, executed once per pod interface, stay small.
package cniconf
