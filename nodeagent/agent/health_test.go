package agent

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestHealth(t *testing.T) {
	now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	fresh := HealthInputs{Now: now, Started: now.Add(-time.Hour), LastDiscovery: now.Add(-time.Second), DiscoveryInterval: 2 * time.Second,
		IPAMSocket: "/run/railnet/ipam.sock"}
	tests := []struct {
		name               string
		mod                func(*HealthInputs)
		problems, warnings []string
	}{
		{"healthy", func(*HealthInputs) {}, nil, nil},
		{"discovery stuck", func(h *HealthInputs) { h.LastDiscovery = now.Add(-time.Minute) },
			[]string{"node discovery last succeeded 1m0s ago (every 2s expected)"}, nil},
		{"resources unregistered for long", func(h *HealthInputs) { h.Unregistered = []string{"spidernet.io/shared_cx5_gpu1"} },
			[]string{"device plugin resources not registered with the kubelet: spidernet.io/shared_cx5_gpu1"}, nil},
		{"resources unregistered just after start", func(h *HealthInputs) {
			h.Started = now.Add(-10 * time.Second)
			h.Unregistered = []string{"spidernet.io/shared_cx5_gpu1"}
		}, nil, nil},
		{"IPAM socket gone", func(h *HealthInputs) { h.IPAMSocketErr = errors.New("no such file or directory") },
			[]string{"IPAM socket /run/railnet/ipam.sock: no such file or directory"}, nil},
		{"bad config is a warning", func(h *HealthInputs) { h.ConfigError = errors.New("rdmaHcaMax 0: must be at least 1") },
			nil, []string{"device plugin config refused (see the RDMANode's ConfigValid condition): rdmaHcaMax 0: must be at least 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fresh
			tt.mod(&in)
			p, w := Health(in)
			if !reflect.DeepEqual(p, tt.problems) || !reflect.DeepEqual(w, tt.warnings) {
				t.Errorf("Health = %q, %q; want %q, %q", p, w, tt.problems, tt.warnings)
			}
		})
	}
}
