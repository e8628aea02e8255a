// Package ipam proves railnet's IPAM against the real API server:
// concurrent agents never hand out an address twice and stop exactly at the
// pool's size, retries get the same address, garbage collection leaves no
// leak, pool counters follow, and the railnet-ipam CNI plugin reaches the
// agent's service over its socket.
package ipam
