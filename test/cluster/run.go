package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/railnet/railnet/test/ground"
)

// stateDir is where the one CLI-managed cluster lives.
func stateDir() (string, error) {
	if d := os.Getenv("RAILNET_CLUSTER_DIR"); d != "" {
		return d, nil
	}
	root, err := ground.CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "cluster"), nil
}

func run(ctx context.Context, verb string) error {
	dir, err := stateDir()
	if err != nil {
		return err
	}
	switch verb {
	case "up":
		if st, err := ground.ReadState(dir); err == nil && running(st) {
			fmt.Printf("export KUBECONFIG=%s\n", st.Kubeconfig)
			fmt.Fprintln(os.Stderr, "cluster: already running; `cluster down` stops it")
			return nil
		}
		if err := ground.StopDetached(dir); err != nil { // leftovers of a dead cluster
			return err
		}
		c, err := ground.Launch(ctx, ground.Options{Dir: dir, Detached: true})
		if err != nil {
			return err
		}
		fmt.Printf("export KUBECONFIG=%s\n", c.Kubeconfig)
		return nil
	case "down":
		if err := ground.StopDetached(dir); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "cluster: stopped")
		return nil
	case "status":
		st, err := ground.ReadState(dir)
		if errors.Is(err, os.ErrNotExist) {
			fmt.Println("not running")
			return nil
		}
		if err != nil {
			return err
		}
		for name, pid := range st.PIDs {
			state := "running"
			if !ground.Alive(pid) {
				state = "exited"
			}
			fmt.Printf("%-24s pid %-8d %s\n", name, pid, state)
		}
		fmt.Printf("apiserver %s\nexport KUBECONFIG=%s\n", st.APIServer, st.Kubeconfig)
		if !running(st) {
			return errors.New("some components are not running; `cluster down` then `cluster up`")
		}
		return nil
	default:
		return fmt.Errorf("unknown verb %q: use up, down or status", verb)
	}
}

func running(st ground.State) bool {
	if len(st.PIDs) == 0 {
		return false
	}
	for _, pid := range st.PIDs {
		if !ground.Alive(pid) {
			return false
		}
	}
	return true
}
