// Package restconfig loads the API server's client configuration for
// railnet's services, with an error that says how to give one. It is apart
// from package cmdline so that the CNI plugins, which share cmdline's
// --version but never talk to the API server, do not link (and initialise)
// client-go at every exec.
package restconfig
