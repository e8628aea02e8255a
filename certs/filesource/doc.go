// Package filesource serves a certificate and key mounted from files (the
// cert-manager mode: cert-manager writes the Secret, the kubelet mounts it) and
// reloads them when they change, watching their folders and polling as a
// fallback. A torn or broken write keeps the last good pair.
package filesource
