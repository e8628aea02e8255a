package minikubelet

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// forwardLoopback makes addr (a 127.0.0.1 address of the host, such as the
// API server's) reachable at the same address inside the network namespace
// at nsPath, so that processes of a simulated node (Multus, the agent) can
// use the host's loopback services while nothing listens beyond loopback.
// The listening socket is created inside the namespace; each accepted
// connection is dialled from the host namespace.
func forwardLoopback(ctx context.Context, nsPath, addr string) error {
	var l net.Listener
	err := ns.WithNetNSPath(nsPath, func(ns.NetNS) error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("find lo: %w", err)
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return fmt.Errorf("set lo up: %w", err)
		}
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		return fmt.Errorf("listen on %s inside %s: %w", addr, nsPath, err)
	}
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				var d net.Dialer
				out, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					return
				}
				defer out.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
				go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
				select {
				case <-done:
				case <-ctx.Done():
				}
			}()
		}
	}()
	return nil
}
