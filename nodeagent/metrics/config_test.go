package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestConfigCollector(t *testing.T) {
	valid := true
	c := NewConfigCollector("n1", func() []ConfigState { return []ConfigState{{Input: "device_plugin", Valid: valid}} })
	for _, tc := range []struct {
		valid bool
		want  string
	}{{true, "1"}, {false, "0"}} {
		valid = tc.valid
		want := `# HELP railnet_agent_config_valid 1 when the hot-reloaded input is in force as written on disk; 0 while it is refused and the last good version stays in force (see the RDMANode's ConfigValid condition).
# TYPE railnet_agent_config_valid gauge
railnet_agent_config_valid{input="device_plugin",node="n1"} ` + tc.want + "\n"
		if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
			t.Errorf("valid=%v: %v", tc.valid, err)
		}
	}
}
