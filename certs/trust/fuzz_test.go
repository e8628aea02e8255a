package trust

import (
	"testing"
	"time"

	"github.com/railnet/railnet/certs/pki"
)

// Whatever a Secret holds, Decode does not panic, and what it returns
// survives another trip through Encode/Decode unchanged.
func FuzzDecode(f *testing.F) {
	ca, err := pki.NewCA("railnet-ca", t0, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	next, err := pki.NewCA("railnet-ca", t0, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ca.CertPEM, ca.KeyPEM, next.CertPEM, next.KeyPEM, []byte(t0.Format(time.RFC3339Nano)), ca.CertPEM, []byte("x"))
	f.Add([]byte("garbage"), []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, cert, key, nextCert, nextKey, at, prev, prevAt []byte) {
		d := map[string][]byte{KeyCert: cert, KeyKey: key, KeyNextCert: nextCert, KeyNextKey: nextKey,
			KeyPromoteAt: at, KeyPreviousCert: prev, KeyRetireAt: prevAt}
		s, _ := Decode(d)
		again, errs := Decode(Encode(s))
		if len(errs) > 0 {
			t.Fatalf("re-decoding an encoded state: %v", errs)
		}
		if !Equal(Encode(again), Encode(s)) {
			t.Fatal("state changed through Encode/Decode")
		}
	})
}
