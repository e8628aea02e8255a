// Package chart tests the Helm chart in charts/railnet with the real helm
// command (built from its Go module): lint, golden renderings for the default
// values and each toggle, schema refusals, and least-privilege RBAC.
package chart
