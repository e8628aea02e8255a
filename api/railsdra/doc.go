// Package railsdra holds what the node agent's rails DRA driver and the
// components that write claims for it (the webhook, in DRA mode) share: the
// driver, DeviceClass, attribute and capacity names, and the claim template
// that pairs k GPUs with their k affine rails (PairedClaimTemplate).
package railsdra
