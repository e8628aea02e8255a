// Package claimfiles is what the rails DRA driver (package dra) and
// railnet-dra-cni exchange through files in the driver's claims folder
// (Dir): the driver writes a prepared claim's rails (ClaimFile), the CNI
// finds a pod's rails in them (RailsForPod) and writes back the interfaces
// it made (NetworkFile), which the driver publishes. It imports nothing of
// Kubernetes, so the CNI plugin, exec'ed once per pod, stays small and
// starts in a few milliseconds (as ipamwire does for railnet-ipam).
package claimfiles
