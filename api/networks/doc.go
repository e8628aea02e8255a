// Package networks reads and writes the Multus pod annotation
// k8s.v1.cni.cncf.io/networks, in both of its forms (JSON list of selection
// elements, or the comma-separated "ns/name@ifname" shorthand), so the webhook
// that writes it and the extender that reads it agree on one parser.
//
// The shorthand's entries are read by the NAD client's
// utils.ParseNetworkAnnotation, Multus' own parser, so an entry Multus would
// refuse (two slashes, two @, a name that is not a DNS label) is refused here
// too, in this package's words. It is slow: an 8-entry shorthand costs about
// 0.35–0.8 ms and 1,253 allocations (113 KB; it compiles a regular
// expression per field), against 5 µs and 5 allocations for the hand-written
// parser it replaced (BenchmarkParse, and that parser in the same run, on
// this 2-core machine under load). Only users write the shorthand (the
// webhook writes the JSON list), so only their pods pay it; the webhook and
// extender binaries grow by 0.26 MB. The JSON list stays
// a plain json.Unmarshal into the library's NetworkSelectionElement: the
// library's JSON branch is the same call with a vaguer error, and it takes
// any value containing [, { or " for JSON. Empty entries ("a,,b", a trailing
// comma) are skipped, as before; the library would pass them on nameless.
package networks
