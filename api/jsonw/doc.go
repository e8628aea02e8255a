// Package jsonw appends JSON strings to byte slices byte for byte as
// encoding/json writes them, without its reflection and allocations: the
// one string writer of railnet's hand-written encoders (the webhook's
// JSON patch, the extender's filter and prioritize answers). It also writes
// a JSON-pointer reference token (RFC 6901) inside a JSON string, for patch
// paths.
package jsonw
