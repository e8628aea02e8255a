// Package app runs the extender: informer caches for the kinds it reads, the
// decider over them, and the HTTP and HTTPS servers, until its context ends.
package app
