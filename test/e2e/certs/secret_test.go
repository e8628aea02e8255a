package certs

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/certs/selfmanaged"
	"github.com/railnet/railnet/certs/trust"
)

func secretOptions(name string) selfmanaged.Options {
	return selfmanaged.Options{Namespace: namespace, SecretName: name, ServiceName: "railnet-webhook", ExtraSANs: []string{"127.0.0.1"}}
}

// Replicas starting at the same moment against a missing Secret end with one
// CA, and all serve certificates from it.
func TestReplicasStartingTogetherShareOneCA(t *testing.T) {
	cluster.EnsureNamespace(t, namespace)
	const secret = "railnet-ca-replicas"
	const replicas = 5
	ms := make([]*selfmanaged.Manager, replicas)
	for i := range ms {
		m, err := selfmanaged.New(cluster.Config, secretOptions(secret))
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = m
	}
	var wg sync.WaitGroup
	for _, m := range ms { // start them as close together as possible
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Cleanup(runManager(t, m))
		}()
	}
	wg.Wait()
	for i, m := range ms {
		eventually(t, 30*time.Second, fmt.Sprintf("replica %d serving", i), func() (bool, error) { return m.Healthy(), nil })
	}
	var sec corev1.Secret
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: secret}, &sec); err != nil {
		t.Fatal(err)
	}
	stored, errs := trust.Decode(sec.Data)
	if len(errs) > 0 || stored.Current == nil {
		t.Fatalf("stored CA: %v", errs)
	}
	for i, m := range ms {
		if cur := m.Authority.Current(); !cur.Cert.Equal(stored.Current.Cert) {
			t.Errorf("replica %d uses CA serial %s, the Secret holds %s", i, cur.Cert.SerialNumber, stored.Current.Cert.SerialNumber)
		}
		if err := verifies(m.Source.Certificate(), stored.Bundle()); err != nil {
			t.Errorf("replica %d serves a certificate the stored bundle does not verify: %v", i, err)
		}
	}
}

// A new instance (a restarted pod) reads the CA from the Secret instead of
// making a new one; its serving certificate is new and verifies against the
// same bundle.
func TestRestartKeepsTheCA(t *testing.T) {
	cluster.EnsureNamespace(t, namespace)
	const secret = "railnet-ca-restart"
	first, err := selfmanaged.New(cluster.Config, secretOptions(secret))
	if err != nil {
		t.Fatal(err)
	}
	stop := runManager(t, first)
	eventually(t, 30*time.Second, "the first instance serving", func() (bool, error) { return first.Healthy(), nil })
	ca, bundle, leaf := first.Authority.Current().Cert, first.Bundle(), first.Source.Certificate()
	stop()

	second := startManager(t, secretOptions(secret))
	eventually(t, 30*time.Second, "the restarted instance serving", func() (bool, error) { return second.Healthy(), nil })
	if got := second.Authority.Current().Cert; !got.Equal(ca) {
		t.Fatalf("restarted instance uses CA serial %s, want the stored %s", got.SerialNumber, ca.SerialNumber)
	}
	if string(second.Bundle()) != string(bundle) {
		t.Fatal("the trust bundle changed across a restart")
	}
	again := second.Source.Certificate()
	if again.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Fatal("the restarted instance serves the old instance's certificate: it has no key for it")
	}
	if err := verifies(again, bundle); err != nil {
		t.Fatalf("the restarted instance's certificate does not verify against the old bundle: %v", err)
	}
	for _, name := range pki.ServiceDNSNames("railnet-webhook", namespace, "") {
		if err := again.VerifyHostname(name); err != nil {
			t.Errorf("serving certificate: %v", err)
		}
	}
}

// A deleted or corrupted CA Secret is written back from the CA the running
// replicas hold, not replaced by a new CA that no client trusts yet.
func TestLostSecretIsRestoredWithTheSameCA(t *testing.T) {
	cluster.EnsureNamespace(t, namespace)
	const secret = "railnet-ca-lost"
	ctx := context.Background()
	m := startManager(t, secretOptions(secret))
	eventually(t, 30*time.Second, "serving", func() (bool, error) { return m.Healthy(), nil })
	ca := m.Authority.Current().Cert
	key := client.ObjectKey{Namespace: namespace, Name: secret}
	stored := func() (bool, error) {
		var sec corev1.Secret
		if err := cluster.Client.Get(ctx, key, &sec); err != nil {
			return false, err
		}
		st, errs := trust.Decode(sec.Data)
		if len(errs) > 0 || st.Current == nil {
			return false, fmt.Errorf("stored CA: %v", errs)
		}
		return st.Current.Cert.Equal(ca), nil
	}

	if err := cluster.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: secret}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the deleted Secret restored with the same CA", stored)

	var sec corev1.Secret
	if err := cluster.Client.Get(ctx, key, &sec); err != nil {
		t.Fatal(err)
	}
	sec.Data[trust.KeyKey] = []byte("not a key")
	if err := cluster.Client.Update(ctx, &sec); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the corrupted Secret restored with the same CA", stored)
	if !m.Authority.Current().Cert.Equal(ca) || !m.Healthy() {
		t.Fatal("the replica changed its CA or lost its certificate")
	}
}
