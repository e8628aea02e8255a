package realnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/railnet/railnet/test/poll"
)

// cgroupFS is where the host mounts its cgroup hierarchies (v1 controllers,
// the named systemd hierarchy and the v2 "unified" one).
const cgroupFS = "/sys/fs/cgroup"

// cgroupPrefix starts every node's cgroup root: "/railnet-node-<pid>-<node>",
// the pid being the test process that owns it, so roots of a killed test can
// be told apart from live ones and removed.
const cgroupPrefix = "railnet-node-"

func cgroupRootName(node string) string {
	return fmt.Sprintf("%s%d-%s", cgroupPrefix, os.Getpid(), node)
}

// hierarchies lists the mounted cgroup hierarchies.
func hierarchies() ([]string, error) {
	entries, err := os.ReadDir(cgroupFS)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		p := filepath.Join(cgroupFS, e.Name())
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			if _, err := os.Stat(filepath.Join(p, "cgroup.procs")); err == nil {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// makeCgroupRoot creates the node's root in every hierarchy: the kubelet
// refuses a cgroupRoot that does not exist. A new cpuset starts with no CPU
// and no memory node, so it gets its parent's.
func makeCgroupRoot(root string) error {
	hs, err := hierarchies()
	if err != nil {
		return err
	}
	for _, h := range hs {
		dir := filepath.Join(h, root)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, err := os.ReadFile(filepath.Join(h, f)); err == nil {
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					return fmt.Errorf("%s of %s: %w", f, dir, err)
				}
			}
		}
	}
	return nil
}

// removeCgroupRoot removes the node's cgroups bottom up, waiting up to
// timeout for their processes (already killed) to be gone.
func removeCgroupRoot(root string, timeout time.Duration) error {
	hs, err := hierarchies()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	var errs []error
	for _, h := range hs {
		dir := filepath.Join(h, root)
		if err := poll.Wait(context.Background(), time.Until(deadline), "cgroup "+dir+" removed", func() error { return removeTree(dir) }); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	return nil
}

// reapStaleCgroups removes node cgroup roots whose owning test process is
// gone (a test killed before its cleanup ran); their processes died with
// their node's nodeinit.
func reapStaleCgroups() {
	hs, err := hierarchies()
	if err != nil {
		return
	}
	for _, h := range hs {
		entries, _ := os.ReadDir(h)
		for _, e := range entries {
			rest, ok := strings.CutPrefix(e.Name(), cgroupPrefix)
			if !ok || !e.IsDir() {
				continue
			}
			pidText, _, _ := strings.Cut(rest, "-")
			if pid, err := strconv.Atoi(pidText); err == nil && pid != os.Getpid() && syscall.Kill(pid, 0) != nil {
				_ = removeTree(filepath.Join(h, e.Name()))
			}
		}
	}
}
