// Package railpath is the end-to-end story of railnet on one machine (see
// test/story): the seed's pools and network configs, an annotated
// Deployment injected by the webhook, placed by the real scheduler with the
// extender, networked on simulated 8-rail nodes by the real Multus, macvlan
// and railnet's IPAM, a rail failure steering the next pod away, and
// deletion releasing every address.
package railpath
