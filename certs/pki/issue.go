package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// KeyPair is a certificate with its private key, in parsed and PEM form.
type KeyPair struct {
	Cert    *x509.Certificate
	CertPEM []byte
	Key     crypto.Signer
	KeyPEM  []byte
}

// ServingRequest describes a serving certificate.
type ServingRequest struct {
	CommonName string
	DNSNames   []string
	IPs        []net.IP
	Validity   time.Duration
}

// NewCA creates a self-signed CA valid from now for validity.
func NewCA(commonName string, now time.Time, validity time.Duration) (*KeyPair, error) {
	if validity <= 0 {
		return nil, fmt.Errorf("CA %q: validity must be positive, got %s", commonName, validity)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key for CA %q: %w", commonName, err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	skid, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Truncate(time.Second),
		NotAfter:              now.Add(validity).Truncate(time.Second),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          skid,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-sign CA %q: %w", commonName, err)
	}
	return newKeyPair(der, key)
}

// IssueServing signs a serving certificate (server auth) with ca, valid from
// now for req.Validity but never beyond the CA's own expiry.
func IssueServing(ca *KeyPair, req ServingRequest, now time.Time) (*KeyPair, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("issue serving certificate: no CA key pair")
	}
	if req.Validity <= 0 {
		return nil, fmt.Errorf("serving certificate %q: validity must be positive, got %s", req.CommonName, req.Validity)
	}
	if len(req.DNSNames) == 0 && len(req.IPs) == 0 {
		return nil, fmt.Errorf("serving certificate %q: no DNS name or IP address to certify", req.CommonName)
	}
	return issueLeaf(ca, "serving certificate", &x509.Certificate{
		Subject:     pkix.Name{CommonName: req.CommonName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    append([]string(nil), req.DNSNames...),
		IPAddresses: append([]net.IP(nil), req.IPs...),
	}, req.Validity, now)
}

// IssueClient signs a client certificate (client auth only: it cannot serve)
// for commonName with ca, valid from now for validity but never beyond the
// CA's own expiry.
func IssueClient(ca *KeyPair, commonName string, validity time.Duration, now time.Time) (*KeyPair, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("issue client certificate: no CA key pair")
	}
	if validity <= 0 {
		return nil, fmt.Errorf("client certificate %q: validity must be positive, got %s", commonName, validity)
	}
	return issueLeaf(ca, "client certificate", &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, validity, now)
}

// issueLeaf completes tmpl (subject, usages and names set by the caller)
// and signs it with ca.
func issueLeaf(ca *KeyPair, kind string, tmpl *x509.Certificate, validity time.Duration, now time.Time) (*KeyPair, error) {
	cn := tmpl.Subject.CommonName
	if !now.Before(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("%s %q: CA %q expired at %s; rotate the CA",
			kind, cn, ca.Cert.Subject.CommonName, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key for %q: %w", cn, err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(validity).Truncate(time.Second)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Truncate(time.Second)
	tmpl.NotAfter = notAfter
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	tmpl.AuthorityKeyId = ca.Cert.SubjectKeyId
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign %s %q: %w", kind, cn, err)
	}
	return newKeyPair(der, key)
}

func newKeyPair(der []byte, key *ecdsa.PrivateKey) (*KeyPair, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse the certificate just signed: %w", err)
	}
	keyPEM, err := EncodeKey(key)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Cert: cert, CertPEM: EncodeCert(cert), Key: key, KeyPEM: keyPEM}, nil
}

func newSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return s.Add(s, big.NewInt(1)), nil
}

func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return sum[:20], nil
}

// SignedBy reports whether cert's signature verifies with ca's key.
func SignedBy(cert, ca *x509.Certificate) bool {
	if cert == nil || ca == nil {
		return false
	}
	return cert.CheckSignatureFrom(ca) == nil
}
