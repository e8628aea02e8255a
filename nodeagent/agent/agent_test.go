package agent

import (
	"context"
	"testing"

	"k8s.io/client-go/rest"
)

func TestRunRefusesIncompleteOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no node name", Options{RestConfig: &rest.Config{}}, "agent: the node name is required (--node-name or NODE_NAME)"},
		{"no API config", Options{NodeName: "n1"}, "agent: a kubeconfig or in-cluster config is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Run(context.Background(), tc.opts)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}
