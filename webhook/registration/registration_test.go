package registration

import (
	"flag"
	"os"
	"testing"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/registration.yaml")

func TestYAMLGolden(t *testing.T) {
	got, err := YAML(Options{Name: "railnet-webhook", CABundle: []byte("CA"),
		Service: &admissionregv1.ServiceReference{Namespace: "railnet", Name: "railnet-webhook"}})
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/registration.yaml"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\n%s", golden, got)
	}
}

func TestURLClientConfig(t *testing.T) {
	m := Mutating(Options{Name: "x", URL: "https://127.0.0.1:9443"})
	if got := *m.Webhooks[0].ClientConfig.URL; got != "https://127.0.0.1:9443/mutate-pod" {
		t.Errorf("url = %s", got)
	}
	if m.Webhooks[0].ClientConfig.Service != nil {
		t.Errorf("service set")
	}
}
