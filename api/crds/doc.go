// Package crds embeds railnet's generated CustomResourceDefinition manifests
// (written by `make generate`) so the test ground, the services and the chart
// install exactly the same CRDs.
package crds

import "embed"

// FS holds one YAML file per CRD.
//
//go:embed *.yaml
var FS embed.FS
