// Package extender tests railnet's scheduler extender end to end: the real
// kube-scheduler of the test ground calls the extender (over HTTPS, with the
// configuration from extender/schedconfig) while the extender reads the real
// API server through its informer caches.
package extender
