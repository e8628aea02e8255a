package discovery

import (
	"testing"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

func TestDistance(t *testing.T) {
	const (
		nic0  = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0/0000:03:00.0/0000:04:00.0/0000:0b:00.0"
		gpu0  = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0/0000:03:00.0/0000:04:01.0/0000:50:00.0"
		gpu1  = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:05:00.0/0000:06:01.0/0000:51:00.0"
		other = "/sys/devices/pci0000:00/0000:00:02.0/0000:40:00.0"
		gpu2  = "/sys/devices/pci0000:20/0000:20:01.0/0000:21:00.0/0000:22:00.0/0000:23:00.0/0000:24:01.0/0000:52:00.0"
		gpu4  = "/sys/devices/pci0000:80/0000:80:01.0/0000:81:00.0/0000:82:00.0/0000:83:00.0/0000:84:01.0/0000:54:00.0"
		fn0   = "/sys/devices/pci0000:00/0000:00:03.0/0000:60:00.0"
		fn1   = "/sys/devices/pci0000:00/0000:00:03.0/0000:60:00.1"
	)
	tests := []struct {
		name       string
		a, b       string
		numaA, nB  int32
		want       string
		wantErrStr string
	}{
		{name: "same leaf switch", a: nic0, b: gpu0, want: railnetv1.DistancePIX},
		{name: "two functions of one device", a: fn0, b: fn1, want: railnetv1.DistancePIX},
		{name: "through two switch levels", a: nic0, b: gpu1, want: railnetv1.DistancePXB},
		{name: "through the host bridge", a: nic0, b: other, want: railnetv1.DistancePHB},
		{name: "other root complex same NUMA", a: nic0, b: gpu2, want: railnetv1.DistanceNODE},
		{name: "other root complex no NUMA info", a: nic0, b: gpu4, numaA: -1, nB: 1, want: railnetv1.DistanceNODE},
		{name: "across sockets", a: nic0, b: gpu4, numaA: 0, nB: 1, want: railnetv1.DistanceSYS},
		{name: "not a device path", a: "/sys/class/net/x", b: gpu0, wantErrStr: `PCI device path "/sys/class/net/x" is not under /sys/devices`},
		{name: "not a PCI address", a: "/sys/devices/pci0000:00/usb1", b: gpu0, wantErrStr: `PCI device path "/sys/devices/pci0000:00/usb1": "usb1" is not a PCI address`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Distance(tc.a, tc.b, tc.numaA, tc.nB)
			if tc.wantErrStr != "" {
				if err == nil || err.Error() != tc.wantErrStr {
					t.Fatalf("err %v, want %q", err, tc.wantErrStr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Distance = %q, %v; want %q", got, err, tc.want)
			}
			if back, _ := Distance(tc.b, tc.a, tc.nB, tc.numaA); back != got {
				t.Errorf("not symmetric: %q vs %q", back, got)
			}
		})
	}
}

func TestIsGPUClass(t *testing.T) {
	for class, want := range map[string]bool{
		"0x030000": true, "0x030200": true, "0x030100": false, "0x020000": false, "0x060400": false, "junk": false,
	} {
		if got := isGPUClass(class); got != want {
			t.Errorf("isGPUClass(%s) = %v, want %v", class, got, want)
		}
	}
}

func FuzzDistance(f *testing.F) {
	f.Add("/sys/devices/pci0000:00/0000:00:01.0/0000:0b:00.0", "/sys/devices/pci0000:00/0000:00:01.0/0000:50:00.0", int32(0), int32(0))
	f.Add("/sys/devices/pci0000:00", "/sys/devices/", int32(-1), int32(3))
	f.Fuzz(func(t *testing.T, a, b string, na, nb int32) {
		d1, err1 := Distance(a, b, na, nb)
		d2, err2 := Distance(b, a, nb, na)
		if (err1 == nil) != (err2 == nil) || d1 != d2 {
			t.Fatalf("not symmetric: %q %v / %q %v", d1, err1, d2, err2)
		}
		if err1 == nil {
			if _, ok := distanceRank[d1]; !ok {
				t.Fatalf("unknown distance %q", d1)
			}
		}
	})
}

func TestStateNames(t *testing.T) {
	for in, want := range map[string]string{"4: ACTIVE": "ACTIVE", "1: DOWN": "DOWN", "ACTIVE": "ACTIVE", "": ""} {
		if got := portState(in); got != want {
			t.Errorf("portState(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"5: LinkUp": "LINK_UP", "3: Disabled": "DISABLED", "2: Polling": "POLLING", "9: Odd": "Odd"} {
		if got := physState(in); got != want {
			t.Errorf("physState(%q) = %q, want %q", in, got, want)
		}
	}
}
