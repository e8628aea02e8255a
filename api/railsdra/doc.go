// Package railsdra holds what the node agent's rails DRA driver and the
// components that write claims for it (the webhook, in DRA mode) share: the
// driver, DeviceClass, attribute and capacity names. It imports nothing of
// Kubernetes, so railnet-dra-cni, a CNI plugin exec'ed per pod, can name the
// driver's folder without linking client-go; the claim template built from
// these names is the webhook's (webhook/drainject.PairedClaimTemplate).
package railsdra
