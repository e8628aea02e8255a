// Package dra tests railnet's DRA mode on the test ground's real nodes: the
// node agent's rails driver and a test GPU driver register with a real
// kubelet v1.37, the real kube-scheduler pairs a 2-GPU pod with the 2 rails
// on its GPUs' PCIe root (the documented ResourceClaimTemplates), the pod
// has exactly those rails as net<rail+1> (railnet-dra-cni), a second pod
// shares those NICs (consumable capacity), a rail going down leaves the
// slice and new claims avoid it, and deleting the pods releases the claims,
// their files and the rails' addresses. TestWebhookDRAMode takes the user's
// path through the story (test/story with DRA mode, Multus as the node's
// CNI): railnet's webhook turns an annotated pod of a DRA-mode inject group
// asking for 2 nvidia.com/gpu into a claim from the template its controller
// keeps, and Multus runs the group's railnet-dra network, which gives the
// pod exactly its 2 affine rails; its refusals say what to do, and doing it
// works.
package dra
