package pki

import (
	"crypto/x509"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustCA(t *testing.T, now time.Time, validity time.Duration) *KeyPair {
	t.Helper()
	ca, err := NewCA("railnet-ca", now, validity)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestServiceDNSNames(t *testing.T) {
	for _, tc := range []struct {
		domain string
		want   []string
	}{
		{"", []string{"hook", "hook.kube-system", "hook.kube-system.svc", "hook.kube-system.svc.cluster.local"}},
		{"corp.example.", []string{"hook", "hook.kube-system", "hook.kube-system.svc", "hook.kube-system.svc.corp.example"}},
	} {
		if got := ServiceDNSNames("hook", "kube-system", tc.domain); !slices.Equal(got, tc.want) {
			t.Errorf("domain %q: got %v, want %v", tc.domain, got, tc.want)
		}
	}
}

func TestSANs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		svc, ns   string
		extra     []string
		wantDNS   []string
		wantIPs   []string
		wantError string
	}{
		{name: "service and loopback", svc: "railnet-webhook", ns: "railnet", extra: []string{"127.0.0.1", " ::1 ", "", "127.0.0.1"},
			wantDNS: ServiceDNSNames("railnet-webhook", "railnet", ""), wantIPs: []string{"127.0.0.1", "::1"}},
		{name: "extra DNS deduplicated", svc: "x", ns: "y", extra: []string{"x.y", "hook.example.com"},
			wantDNS: append(ServiceDNSNames("x", "y", ""), "hook.example.com")},
		{name: "IP only", extra: []string{"127.0.0.1"}, wantIPs: []string{"127.0.0.1"}},
		{name: "nothing", wantError: "no subject alternative name: set a service name or at least one extra SAN"},
		{name: "service without namespace", svc: "x", wantError: `service "x" has no namespace`},
		{name: "URL is refused", svc: "x", ns: "y", extra: []string{"https://a"}, wantError: `extra SAN "https://a" is neither an IP address nor a DNS name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dns, ips, err := SANs(tc.svc, tc.ns, "", tc.extra)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("got error %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(dns, tc.wantDNS) {
				t.Errorf("DNS %v, want %v", dns, tc.wantDNS)
			}
			var got []string
			for _, ip := range ips {
				got = append(got, ip.String())
			}
			if !slices.Equal(got, tc.wantIPs) {
				t.Errorf("IPs %v, want %v", got, tc.wantIPs)
			}
		})
	}
}

func TestIssueServingVerifiesForEverySAN(t *testing.T) {
	ca := mustCA(t, t0, 365*24*time.Hour)
	dns, ips, err := SANs("railnet-webhook", "railnet", "", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	kp, err := IssueServing(ca, ServingRequest{CommonName: "railnet-webhook", DNSNames: dns, IPs: ips, Validity: 7 * 24 * time.Hour}, t0)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, name := range append(dns, "127.0.0.1") {
		if _, err := kp.Cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: t0.Add(time.Hour)}); err != nil {
			t.Errorf("verify for %q: %v", name, err)
		}
	}
	if _, err := kp.Cert.Verify(x509.VerifyOptions{DNSName: "other.railnet.svc", Roots: roots, CurrentTime: t0.Add(time.Hour)}); err == nil {
		t.Error("a name outside the SANs verified")
	}
	if _, err := kp.Cert.Verify(x509.VerifyOptions{DNSName: dns[0], Roots: roots, CurrentTime: t0.Add(8 * 24 * time.Hour)}); err == nil {
		t.Error("the certificate verified after its validity")
	}
	if !kp.Cert.NotBefore.Equal(t0) || !kp.Cert.NotAfter.Equal(t0.Add(7*24*time.Hour)) {
		t.Errorf("validity %s..%s, want %s..%s", kp.Cert.NotBefore, kp.Cert.NotAfter, t0, t0.Add(7*24*time.Hour))
	}
	if kp.Cert.IsCA || !slices.Equal(kp.Cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("serving certificate: IsCA=%v ExtKeyUsage=%v", kp.Cert.IsCA, kp.Cert.ExtKeyUsage)
	}
	if !SignedBy(kp.Cert, ca.Cert) || SignedBy(kp.Cert, mustCA(t, t0, time.Hour).Cert) {
		t.Error("SignedBy does not tell the signing CA from another")
	}
	if !CoversSANs(dns, ips, kp.Cert.DNSNames, kp.Cert.IPAddresses) || CoversSANs(dns[:1], ips, kp.Cert.DNSNames, kp.Cert.IPAddresses) {
		t.Error("CoversSANs is wrong")
	}
	// The PEM forms parse back into a pair and a TLS certificate.
	back, err := ParseKeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil || back.Cert.SerialNumber.Cmp(kp.Cert.SerialNumber) != 0 {
		t.Fatalf("parse back: %v", err)
	}
	if _, err := kp.TLSCertificate(); err != nil {
		t.Fatal(err)
	}
}

func TestIssueServingNeverOutlivesItsCA(t *testing.T) {
	ca := mustCA(t, t0, 48*time.Hour)
	kp, err := IssueServing(ca, ServingRequest{CommonName: "w", DNSNames: []string{"w"}, Validity: 7 * 24 * time.Hour}, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !kp.Cert.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter %s, want the CA's %s", kp.Cert.NotAfter, ca.Cert.NotAfter)
	}
}

func TestIssueServingRefusals(t *testing.T) {
	ca := mustCA(t, t0, time.Hour)
	for _, tc := range []struct {
		name string
		req  ServingRequest
		now  time.Time
		want string
	}{
		{"expired CA", ServingRequest{CommonName: "w", DNSNames: []string{"w"}, Validity: time.Hour}, t0.Add(2 * time.Hour),
			`serving certificate "w": CA "railnet-ca" expired at 2026-03-01T13:00:00Z; rotate the CA`},
		{"no SAN", ServingRequest{CommonName: "w", Validity: time.Hour}, t0, `serving certificate "w": no DNS name or IP address to certify`},
		{"no validity", ServingRequest{CommonName: "w", DNSNames: []string{"w"}}, t0, `serving certificate "w": validity must be positive, got 0s`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := IssueServing(ca, tc.req, tc.now)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseKeyPairRefusesMismatch(t *testing.T) {
	a, b := mustCA(t, t0, time.Hour), mustCA(t, t0, time.Hour)
	if _, err := ParseKeyPair(a.CertPEM, b.KeyPEM); err == nil || !strings.Contains(err.Error(), "certificate and key do not form a pair") {
		t.Fatalf("got %v", err)
	}
	if _, err := ParseCerts([]byte("garbage")); err == nil || err.Error() != "no PEM certificate found" {
		t.Fatalf("got %v", err)
	}
	certs, err := ParseCerts(append(append([]byte{}, a.CertPEM...), b.CertPEM...))
	if err != nil || len(certs) != 2 {
		t.Fatalf("bundle of two: %d certs, %v", len(certs), err)
	}
}

func TestRenewalMath(t *testing.T) {
	ca := mustCA(t, t0, 90*time.Hour) // NotBefore t0, NotAfter t0+90h
	for _, tc := range []struct {
		name    string
		l       Lifetime
		renewAt time.Time
	}{
		{"default two thirds", Lifetime{Validity: 90 * time.Hour}, t0.Add(60 * time.Hour)},
		{"half", Lifetime{Validity: 90 * time.Hour, RenewFraction: 0.5}, t0.Add(45 * time.Hour)},
		{"threshold wins", Lifetime{Validity: 90 * time.Hour, RenewFraction: 0.5, RenewBefore: 10 * time.Hour}, t0.Add(80 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.l.Validate("test"); err != nil {
				t.Fatal(err)
			}
			if got := tc.l.RenewAt(ca.Cert); !got.Equal(tc.renewAt) {
				t.Fatalf("RenewAt %s, want %s", got, tc.renewAt)
			}
			if tc.l.Due(ca.Cert, tc.renewAt.Add(-time.Second)) {
				t.Error("due a second before the renewal moment")
			}
			if !tc.l.Due(ca.Cert, tc.renewAt) {
				t.Error("not due at the renewal moment")
			}
		})
	}
	if Valid(ca.Cert, t0.Add(-time.Second)) || !Valid(ca.Cert, t0) || Valid(ca.Cert, t0.Add(90*time.Hour)) {
		t.Error("Valid is wrong at the edges")
	}
}

func TestLifetimeValidate(t *testing.T) {
	for _, tc := range []struct {
		l    Lifetime
		want string
	}{
		{Lifetime{}, "serving: validity must be positive, got 0s"},
		{Lifetime{Validity: time.Hour, RenewFraction: 1}, "serving: renew fraction must be between 0 and 1 (exclusive), got 1"},
		{Lifetime{Validity: time.Hour, RenewBefore: time.Hour}, "serving: renew-before 1h0m0s must be between 0 and the validity 1h0m0s"},
	} {
		if err := tc.l.Validate("serving"); err == nil || err.Error() != tc.want {
			t.Errorf("%+v: got %v, want %q", tc.l, err, tc.want)
		}
	}
}

func TestCoversSANsIPForms(t *testing.T) {
	if !CoversSANs(nil, []net.IP{net.ParseIP("127.0.0.1")}, nil, []net.IP{net.IPv4(127, 0, 0, 1).To4()}) {
		t.Error("4- and 16-byte forms of one IP differ")
	}
}

func TestIssueClient(t *testing.T) {
	ca := mustCA(t, t0, time.Hour)
	kp, err := IssueClient(ca, "railnet-scheduler", 2*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !SignedBy(kp.Cert, ca.Cert) || kp.Cert.Subject.CommonName != "railnet-scheduler" {
		t.Errorf("certificate %q not signed by the CA", kp.Cert.Subject.CommonName)
	}
	if !slices.Equal(kp.Cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("usages %v, want client auth only", kp.Cert.ExtKeyUsage)
	}
	if !kp.Cert.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter %v beyond the CA's %v", kp.Cert.NotAfter, ca.Cert.NotAfter)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := kp.Cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: t0.Add(time.Minute), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("not a valid client certificate: %v", err)
	}
	if _, err := kp.Cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: t0.Add(time.Minute)}); err == nil {
		t.Error("a client certificate verifies as a serving certificate")
	}
	if _, err := IssueClient(ca, "late", time.Hour, t0.Add(2*time.Hour)); err == nil ||
		err.Error() != `client certificate "late": CA "railnet-ca" expired at 2026-03-01T13:00:00Z; rotate the CA` {
		t.Errorf("issue from an expired CA: %v", err)
	}
}
