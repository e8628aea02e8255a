package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func setup(binds, tmpfs, chardevs []string) error {
	if os.Getpid() != 1 {
		return fmt.Errorf("must run as process 1 of a new PID namespace (pid is %d)", os.Getpid())
	}
	// Nothing mounted here may leak back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	// A /proc of this PID namespace, so ps and /proc/self are right.
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	for _, t := range tmpfs {
		if err := os.MkdirAll(t, 0o755); err != nil {
			return err
		}
		if err := unix.Mount("tmpfs", t, "tmpfs", unix.MS_NOSUID, "mode=755"); err != nil {
			return fmt.Errorf("mount tmpfs on %s: %w", t, err)
		}
	}
	for _, b := range binds {
		target, source, ok := strings.Cut(b, "=")
		if !ok {
			return fmt.Errorf("--bind=%q: want TARGET=SOURCE", b)
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s on %s: %w", source, target, err)
		}
	}
	unix.Umask(0)
	for _, d := range chardevs {
		path, num, ok := strings.Cut(d, "=")
		maj, min, ok2 := strings.Cut(num, ":")
		major, err1 := strconv.ParseUint(maj, 10, 32)
		minor, err2 := strconv.ParseUint(min, 10, 32)
		if !ok || !ok2 || err1 != nil || err2 != nil {
			return fmt.Errorf("--chardev=%q: want PATH=MAJOR:MINOR", d)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(uint32(major), uint32(minor)))); err != nil {
			return fmt.Errorf("mknod %s: %w", path, err)
		}
	}
	return nil
}

// reap waits for every child, its own and the orphans the kernel hands to
// process 1 (containerd's shims among them), until SIGTERM or SIGKILL.
func reap() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT)
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			// Process 1 ends: the kernel kills the rest of the namespace.
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
