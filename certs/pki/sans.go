package pki

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// DefaultClusterDomain is the cluster DNS domain when none is configured.
const DefaultClusterDomain = "cluster.local"

// ServiceDNSNames returns the names a client may use for Service svc in
// namespace ns: svc, svc.ns, svc.ns.svc and svc.ns.svc.<clusterDomain>.
func ServiceDNSNames(svc, ns, clusterDomain string) []string {
	if clusterDomain == "" {
		clusterDomain = DefaultClusterDomain
	}
	return []string{
		svc,
		svc + "." + ns,
		svc + "." + ns + ".svc",
		svc + "." + ns + ".svc." + strings.TrimSuffix(clusterDomain, "."),
	}
}

// SANs returns the DNS names and IP addresses of a serving certificate for
// Service svc in ns plus extra entries (IP literals become IP SANs, the rest DNS
// names), without duplicates. A Service name is optional when extra is not
// empty (a local run may serve 127.0.0.1 only).
func SANs(svc, ns, clusterDomain string, extra []string) ([]string, []net.IP, error) {
	var dns []string
	var ips []net.IP
	if svc != "" {
		if ns == "" {
			return nil, nil, fmt.Errorf("service %q has no namespace: set the namespace the service runs in", svc)
		}
		dns = ServiceDNSNames(svc, ns, clusterDomain)
	}
	for _, e := range extra {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if ip := net.ParseIP(e); ip != nil {
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
			continue
		}
		if strings.ContainsAny(e, " /:@") {
			return nil, nil, fmt.Errorf("extra SAN %q is neither an IP address nor a DNS name", e)
		}
		if !slices.Contains(dns, e) {
			dns = append(dns, e)
		}
	}
	if len(dns) == 0 && len(ips) == 0 {
		return nil, nil, fmt.Errorf("no subject alternative name: set a service name or at least one extra SAN")
	}
	return dns, ips, nil
}

// CoversSANs reports whether cert names exactly the given DNS names and IPs
// (order aside): a change of the wanted names calls for a new certificate.
func CoversSANs(dns []string, ips []net.IP, certDNS []string, certIPs []net.IP) bool {
	if len(dns) != len(certDNS) || len(ips) != len(certIPs) {
		return false
	}
	for _, d := range dns {
		if !slices.Contains(certDNS, d) {
			return false
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(certIPs, ip.Equal) {
			return false
		}
	}
	return true
}
