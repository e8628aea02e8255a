// Package rulebook proves that the webhook and the extender agree on every
// case of api/injectgroup's table: the extender asks of the nodes exactly
// the networks the webhook injects, refuses in the webhook's words what the
// webhook refuses, and asks nothing for a pod the webhook leaves alone. It
// lives under test/ because it imports both services, which never import
// each other.
package rulebook
