// Package app runs the extender: it decides the HTTPS certificate mode
// (certificate files or the self-managed CA), then runs the informer caches
// for the kinds it reads, the decider over them, the HTTP and HTTPS servers
// and, when asked, the sync of kube-scheduler configurations with the device
// plugin's, until its context ends.
package app
