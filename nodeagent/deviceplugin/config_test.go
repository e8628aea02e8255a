package deviceplugin

import (
	"fmt"
	"strings"
	"testing"
)

// seedConfig is the seed guide's config.json with all 8 resources.
func seedConfig() string {
	var items []string
	for i := 1; i <= 8; i++ {
		items = append(items, fmt.Sprintf(`{
             "resourcePrefix": "spidernet.io",
             "resourceName": "shared_cx5_gpu%d",
             "rdmaHcaMax": 100,
             "selectors": { "ifNames": ["enp%ds0f0np0"] }
           }`, i, 10+i))
	}
	return "{\n \"periodicUpdateInterval\": 300,\n \"configList\": [\n" + strings.Join(items, ",\n") + "\n ]\n}\n"
}

func TestParseSeedConfig(t *testing.T) {
	c, err := ParseConfig([]byte(seedConfig()))
	if err != nil {
		t.Fatal(err)
	}
	if c.PeriodicSeconds() != 300 || len(c.ConfigList) != 8 {
		t.Fatalf("parsed %+v", c)
	}
	r := c.ConfigList[7]
	if r.FullName() != "spidernet.io/shared_cx5_gpu8" || r.MaxSlots() != 100 || r.Selectors.IfNames[0] != "enp18s0f0np0" {
		t.Fatalf("resource 8: %+v", r)
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr string
		check   func(t *testing.T, c *Config)
	}{
		{name: "defaults", json: `{"configList":[{"resourceName":"hca","selectors":{"vendors":["0x15B3"],"deviceIDs":["1017"],"linkTypes":["ether","InfiniBand"]}}]}`,
			check: func(t *testing.T, c *Config) {
				r := c.ConfigList[0]
				if r.FullName() != "rdma/hca" || r.MaxSlots() != 1000 || c.PeriodicSeconds() != 60 {
					t.Errorf("defaults: %+v", r)
				}
				if r.Selectors.Vendors[0] != "15b3" || r.Selectors.LinkTypes[0] != "Ethernet" || r.Selectors.LinkTypes[1] != "InfiniBand" {
					t.Errorf("normalised selectors %+v", r.Selectors)
				}
			}},
		{name: "old devices list", json: `{"configList":[{"resourceName":"hca","devices":["ens1"]}]}`,
			check: func(t *testing.T, c *Config) {
				if got := c.ConfigList[0].Selectors.IfNames; len(got) != 1 || got[0] != "ens1" {
					t.Errorf("ifNames %v", got)
				}
			}},
		{name: "unknown top-level key", json: `{"periodicUpdateIntervall": 3, "configList":[{"resourceName":"a"}]}`,
			wantErr: `unknown key "periodicUpdateIntervall"`},
		{name: "unknown selector", json: `{"configList":[{"resourceName":"a","selectors":{"ifName":["x"]}}]}`,
			wantErr: `unknown key "ifName"`},
		{name: "bad link type", json: `{"configList":[{"resourceName":"a","selectors":{"linkTypes":["roce"]}}]}`,
			wantErr: `configList[0] (a): selectors.linkTypes[0] "roce": use ether, ethernet or infiniband`},
		{name: "bad vendor", json: `{"configList":[{"resourceName":"a","selectors":{"vendors":["mellanox"]}}]}`,
			wantErr: `configList[0] (a): selectors.vendors[0] "mellanox" is not a 4-digit hex PCI vendor ID (e.g. 15b3)`},
		{name: "bad device ID", json: `{"configList":[{"resourceName":"a","selectors":{"deviceIDs":["10171"]}}]}`,
			wantErr: `selectors.deviceIDs[0] "10171" is not a 4-digit hex PCI device ID`},
		{name: "zero slots", json: `{"configList":[{"resourceName":"a","rdmaHcaMax":0}]}`,
			wantErr: `configList[0] (a): rdmaHcaMax 0: must be at least 1`},
		{name: "slots beyond the bound", json: `{"configList":[{"resourceName":"a","rdmaHcaMax":4611686018427387904}]}`,
			wantErr: `configList[0] (a): rdmaHcaMax 4611686018427387904: at most 10000 shares per resource (each is a device ID the kubelet lists and checkpoints; no node runs that many pods)`},
		{name: "slots at the bound", json: `{"configList":[{"resourceName":"a","rdmaHcaMax":10000}]}`,
			check: func(t *testing.T, c *Config) {
				if got := c.ConfigList[0].MaxSlots(); got != MaxRdmaHcaMax {
					t.Errorf("MaxSlots = %d, want %d", got, MaxRdmaHcaMax)
				}
			}},
		{name: "slots as string", json: `{"configList":[{"resourceName":"a","rdmaHcaMax":"100"}]}`,
			wantErr: `configList.rdmaHcaMax: expected int, got JSON string`},
		{name: "negative interval", json: `{"periodicUpdateInterval":-1,"configList":[{"resourceName":"a"}]}`,
			wantErr: `periodicUpdateInterval -1: must be 0 or more seconds`},
		{name: "missing name", json: `{"configList":[{"resourcePrefix":"x.io"}]}`,
			wantErr: `configList[0]: resourceName is required`},
		{name: "bad name", json: `{"configList":[{"resourceName":"a/b"}]}`,
			wantErr: `resourceName "a/b" must be at most 63 letters`},
		{name: "bad prefix", json: `{"configList":[{"resourcePrefix":"Spider_Net","resourceName":"a"}]}`,
			wantErr: `resourcePrefix "Spider_Net" is not a DNS subdomain`},
		{name: "duplicate", json: `{"configList":[{"resourceName":"a"},{"resourceName":"a"}]}`,
			wantErr: `configList[1] (a): resource rdma/a is already configured by configList[0]`},
		{name: "bad ifName", json: `{"configList":[{"resourceName":"a","selectors":{"ifNames":["a very long interface name"]}}]}`,
			wantErr: `selectors.ifNames[0] "a very long interface name" is not a network interface name`},
		{name: "empty", json: `{"configList":[]}`, wantErr: `configList is empty`},
		{name: "not JSON", json: `configList: []`, wantErr: `device plugin config: invalid character`},
		{name: "trailing data", json: `{"configList":[{"resourceName":"a"}]} {}`, wantErr: `unexpected data after the JSON object`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(seedConfig()))
	f.Add([]byte(`{"configList":[{"resourceName":"a","rdmaHcaMax":-5}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err == nil && len(c.ConfigList) == 0 {
			t.Fatal("accepted a config without resources")
		}
	})
}
