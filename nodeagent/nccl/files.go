package nccl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// DefaultDir is the host folder holding one folder per pod (named by its
// UID); the webhook mounts the pod's folder into its containers and points
// NCCL_CONF_FILE at its ConfFile.
const DefaultDir = "/run/railnet/nccl"

// ConfFile is the name of the conf file in a pod's folder.
const ConfFile = "nccl.conf"

// SocketIfName is the cluster interface NCCL bootstraps over.
const SocketIfName = "eth0"

// Port is an RDMA port and the NIC it serves.
type Port struct {
	HCA  string
	Port int
}

// Service writes pods' NCCL conf files, one rail at a time, as the
// coordinator reports each interface after CNI ADD.
type Service struct {
	// Dir is DefaultDir unless set.
	Dir string
	// PortOf returns the RDMA port of a node NIC (from discovery).
	PortOf func(master string) (Port, bool)
	// ReadPort reads a port's GID table (ReadPort under the agent's sysfs
	// root).
	ReadPort func(Port) (Table, error)
	// Wait bounds the wait for the kernel to add the GID (default 3s); Every
	// is the poll period (default 50ms). Once one rail of a pod waited in
	// vain, its further rails wait at most Retry (default 250ms): the kernel
	// adds a pod's GIDs on all its rails alike, and the runtime sets rails up
	// one after the other, so a node whose ports never show the pod's GIDs
	// does not hold the pod's sandbox for Wait per rail.
	Wait, Every, Retry time.Duration

	mu sync.Mutex // one conf file rewrite at a time
}

var uidRE = regexp.MustCompile(`^[0-9a-zA-Z-]{1,64}$`)
var ifRE = regexp.MustCompile(`^[0-9a-zA-Z._-]{1,15}$`)

// Rail finds the pod's own GID on its interface's port, records the rail and
// rewrites the pod's conf file from all its rails so far. Rail errors (bad
// request, unknown NIC) are the caller's; a GID the kernel has not added in
// time is not an error: the conf file then says so and sets no index.
func (s *Service) Rail(ctx context.Context, podUID, ifName, master string, ip netip.Addr) (Rail, Conf, error) {
	if !uidRE.MatchString(podUID) || !ifRE.MatchString(ifName) || !ip.IsValid() {
		return Rail{}, Conf{}, fmt.Errorf("NCCL request for pod %q interface %q address %v: not a pod UID, interface name and address", podUID, ifName, ip)
	}
	p, ok := s.PortOf(master)
	if !ok {
		return Rail{}, Conf{}, fmt.Errorf("NIC %q of pod %s interface %s has no RDMA port on this node; check the SpiderMultusConfig's master", master, podUID, ifName)
	}
	wait, every := s.Wait, s.Every
	if wait == 0 {
		wait = 3 * time.Second
	}
	if every == 0 {
		every = 50 * time.Millisecond
	}
	if s.waitedInVain(podUID) {
		wait = s.Retry
		if wait == 0 {
			wait = 250 * time.Millisecond
		}
	}
	idx, err := WaitOwn(ctx, func() (Table, error) { return s.ReadPort(p) }, ip, wait, every)
	if err != nil {
		klog.FromContext(ctx).Error(err, "GID table unreadable", "hca", p.HCA, "port", p.Port)
	}
	r := Rail{Interface: ifName, HCA: p.HCA, Port: p.Port, IP: ip.Unmap().String(), GIDIndex: idx}
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := filepath.Join(s.dir(), podUID)
	if err := os.MkdirAll(filepath.Join(dir, "rails"), 0o755); err != nil {
		return Rail{}, Conf{}, err
	}
	b, _ := json.Marshal(r)
	if err := writeAtomic(filepath.Join(dir, "rails", ifName+".json"), b); err != nil {
		return Rail{}, Conf{}, err
	}
	rails, err := readRails(filepath.Join(dir, "rails"))
	if err != nil {
		return Rail{}, Conf{}, err
	}
	conf := Plan(rails, SocketIfName)
	if err := writeAtomic(filepath.Join(dir, ConfFile), conf.Render()); err != nil {
		return Rail{}, Conf{}, err
	}
	return r, conf, nil
}

// waitedInVain reports whether a rail of the pod recorded so far has no
// GID (its wait ran out).
func (s *Service) waitedInVain(podUID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rails, _ := readRails(filepath.Join(s.dir(), podUID, "rails"))
	for _, r := range rails {
		if r.GIDIndex < 0 {
			return true
		}
	}
	return false
}

// Remove deletes a pod's folder (its sandbox is gone).
func (s *Service) Remove(podUID string) error {
	if !uidRE.MatchString(podUID) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return os.RemoveAll(filepath.Join(s.dir(), podUID))
}

func (s *Service) dir() string {
	if s.Dir == "" {
		return DefaultDir
	}
	return s.Dir
}

func readRails(dir string) ([]Rail, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var out []Rail
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var r Rail
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out = append(out, r)
	}
	return out, nil
}

// writeAtomic replaces path with b, so a reader never sees half a file.
func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
