// Package images checks what can be checked of railnet's container images on
// a machine without a container engine: every Dockerfile's `go build` line
// builds, static (CGO_ENABLED=0), from a clean module, and every binary the
// final stage copies is one that line produces.
package images
