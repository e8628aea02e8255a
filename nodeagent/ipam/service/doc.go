// Package service serves the allocator (package alloc) and the pods' NCCL
// conf files (package nccl) to the railnet-ipam and railnet-coordinator CNI
// plugins on a unix socket only root can reach, speaking the protocol of
// package ipamwire.
package service
