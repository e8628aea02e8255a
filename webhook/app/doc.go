// Package app wires the webhook service together: a controller-runtime
// manager (cache, client, the NAD and namespace controllers), the
// cache-backed store, the admission handler and the HTTPS server.
package app
