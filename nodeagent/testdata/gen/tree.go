package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

// gidTableLen is the length of a port's GID table.
const gidTableLen = 255

type tree struct{ root string }

func (t tree) file(path, content string) {
	p := filepath.Join(t.root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		log.Fatal(err)
	}
}

// link makes path a symlink to target (absolute inside the tree), written
// relative as sysfs does.
func (t tree) link(path, target string) {
	p := filepath.Join(t.root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		log.Fatal(err)
	}
	rel, err := filepath.Rel(filepath.Dir(p), filepath.Join(t.root, target))
	if err != nil {
		log.Fatal(err)
	}
	if err := os.Symlink(rel, p); err != nil {
		log.Fatal(err)
	}
}

func (t tree) pciFunc(dir, vendor, device, class string, numa int, driver string) {
	t.file(dir+"/vendor", vendor+"\n")
	t.file(dir+"/device", device+"\n")
	t.file(dir+"/class", class+"\n")
	t.file(dir+"/numa_node", fmt.Sprintf("%d\n", numa))
	if driver != "" {
		t.file("sys/bus/pci/drivers/"+driver+"/new_id", "")
		t.link(dir+"/driver", "sys/bus/pci/drivers/"+driver)
	}
	t.link("sys/bus/pci/devices/"+filepath.Base(dir), dir)
}

func writeTree(root string, v variant) error {
	t := tree{root: root}
	complexes := []struct {
		bus  int
		numa int
	}{{0x00, 0}, {0x20, 0}, {0x80, 1}, {0xa0, 1}}
	for c, rc := range complexes {
		rcDir := fmt.Sprintf("sys/devices/pci0000:%02x", rc.bus)
		t.file(rcDir+"/power/control", "auto\n")
		rootPort := fmt.Sprintf("%s/0000:%02x:01.0", rcDir, rc.bus)
		t.pciFunc(rootPort, "0x8086", "0x347a", "0x060400", rc.numa, "pcieport")
		swUp := fmt.Sprintf("%s/0000:%02x:00.0", rootPort, rc.bus+1)
		t.pciFunc(swUp, "0x1000", "0xc030", "0x060400", rc.numa, "pcieport")
		for d := 0; d < 2; d++ {
			rail := c*2 + d
			down := fmt.Sprintf("%s/0000:%02x:%02x.0", swUp, rc.bus+2, d)
			t.pciFunc(down, "0x1000", "0xc030", "0x060400", rc.numa, "pcieport")
			sw2Up := fmt.Sprintf("%s/0000:%02x:00.0", down, rc.bus+3+2*d)
			t.pciFunc(sw2Up, "0x1000", "0xc030", "0x060400", rc.numa, "pcieport")
			nicPort := fmt.Sprintf("%s/0000:%02x:00.0", sw2Up, rc.bus+4+2*d)
			gpuPort := fmt.Sprintf("%s/0000:%02x:01.0", sw2Up, rc.bus+4+2*d)
			t.pciFunc(nicPort, "0x1000", "0xc030", "0x060400", rc.numa, "pcieport")
			t.pciFunc(gpuPort, "0x1000", "0xc030", "0x060400", rc.numa, "pcieport")

			nicBus := 11 + rail // enp11s0f0np0 is bus 11 (0x0b)
			gpuBus := 0x50 + rail
			gpu := fmt.Sprintf("%s/0000:%02x:00.0", gpuPort, gpuBus)
			t.pciFunc(gpu, "0x10de", "0x2330", "0x030200", rc.numa, "nvidia")

			nic := fmt.Sprintf("%s/0000:%02x:00.0", nicPort, nicBus)
			if v.rdma {
				t.pciFunc(nic, "0x15b3", "0x1017", "0x020000", rc.numa, "mlx5_core")
				writeNetdev(t, nic, fmt.Sprintf("enp%ds0f0np0", nicBus), rail)
				writeRDMA(t, nic, rail, v.downPort == rail, fmt.Sprintf("enp%ds0f0np0", nicBus))
			} else if rail < 2 {
				// A node without RDMA: two plain Ethernet ports, no
				// infiniband class at all.
				t.pciFunc(nic, "0x8086", "0x159b", "0x020000", rc.numa, "ice")
				writeNetdev(t, nic, fmt.Sprintf("ens%df0", 1+rail), rail)
			}
		}
	}
	return nil
}

func writeNetdev(t tree, pci, name string, rail int) {
	dir := pci + "/net/" + name
	t.file(dir+"/speed", "100000\n")
	t.file(dir+"/operstate", "up\n")
	t.file(dir+"/mtu", "1500\n")
	t.file(dir+"/type", "1\n")
	t.file(dir+"/address", fmt.Sprintf("b8:3f:d2:9f:09:%02x\n", 0x40+rail))
	t.link(dir+"/device", pci)
	t.link("sys/class/net/"+name, dir)
}

func writeRDMA(t tree, pci string, n int, down bool, netdev string) {
	dev := fmt.Sprintf("mlx5_%d", n)
	dir := pci + "/infiniband/" + dev
	t.file(dir+"/node_guid", fmt.Sprintf("b83f:d203:009f:09%02x\n", 0x40+n))
	t.file(dir+"/node_type", "1: CA\n")
	t.link(dir+"/device", pci)
	t.link("sys/class/infiniband/"+dev, dir)
	port := dir + "/ports/1"
	if down {
		t.file(port+"/state", "1: DOWN\n")
		t.file(port+"/phys_state", "3: Disabled\n")
	} else {
		t.file(port+"/state", "4: ACTIVE\n")
		t.file(port+"/phys_state", "5: LinkUp\n")
	}
	t.file(port+"/link_layer", "Ethernet\n")
	t.file(port+"/rate", "100 Gb/sec (4X EDR)\n")
	mac := []byte{0xb8, 0x3f, 0xd2, 0x9f, 0x09, byte(0x40 + n)}
	eui := fmt.Sprintf("%02x%02x:%02xff:fe%02x:%02x%02x", mac[0]^2, mac[1], mac[2], mac[3], mac[4], mac[5])
	used := map[int]struct{ gid, typ string }{
		0: {"fe80:0000:0000:0000:" + eui, "IB/RoCE v1"},
		1: {"fe80:0000:0000:0000:" + eui, "RoCE v2"},
		2: {fmt.Sprintf("0000:0000:0000:0000:0000:ffff:ac10:%02xfe", 11+n), "IB/RoCE v1"},
		3: {fmt.Sprintf("0000:0000:0000:0000:0000:ffff:ac10:%02xfe", 11+n), "RoCE v2"},
	}
	zero := strings.TrimSuffix(strings.Repeat("0000:", 8), ":")
	for i := 0; i < gidTableLen; i++ {
		g := zero
		if u, ok := used[i]; ok {
			g = u.gid
			t.file(fmt.Sprintf("%s/gid_attrs/ndevs/%d", port, i), netdev+"\n")
			t.file(fmt.Sprintf("%s/gid_attrs/types/%d", port, i), u.typ+"\n")
		}
		t.file(fmt.Sprintf("%s/gids/%d", port, i), g+"\n")
	}
	counters := map[string]string{
		"port_rcv_data": "123456789", "port_xmit_data": "987654321",
		"port_rcv_packets": "4096", "port_xmit_packets": "8192",
		"port_rcv_errors": "0", "port_xmit_discards": "2",
	}
	for k, val := range counters {
		t.file(port+"/counters/"+k, val+"\n")
	}
	hw := map[string]string{
		"rx_write_requests": "100", "rx_read_requests": "200", "out_of_sequence": "1",
		"np_cnp_sent": "7", "rp_cnp_handled": "5",
	}
	for k, val := range hw {
		t.file(port+"/hw_counters/"+k, val+"\n")
	}
	// Character devices: uverbsN, umadN, issmN (issm only on even rails,
	// as when the subnet-manager device is restricted), rdma_cm.
	for _, cls := range []struct{ class, name string }{
		{"infiniband_verbs", fmt.Sprintf("uverbs%d", n)},
		{"infiniband_mad", fmt.Sprintf("umad%d", n)},
		{"infiniband_mad", fmt.Sprintf("issm%d", n)},
	} {
		if strings.HasPrefix(cls.name, "issm") && n%2 == 1 {
			continue
		}
		cd := pci + "/" + cls.class + "/" + cls.name
		t.file(cd+"/ibdev", dev+"\n")
		t.file(cd+"/dev", fmt.Sprintf("231:%d\n", n))
		t.link("sys/class/"+cls.class+"/"+cls.name, cd)
		t.file("dev/infiniband/"+cls.name, "")
	}
	t.file("dev/infiniband/rdma_cm", "")
}
