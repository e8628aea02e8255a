package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/railnet/railnet/api/cmdline"
)

// cniPlugins are the CNI plugin binaries shipped next to railnet-agent.
var cniPlugins = []string{"railnet-ipam", "railnet-coordinator", "railnet-dra-cni"}

// installCNI copies the CNI plugins next to this executable into --dest,
// each through a temporary file and a rename so a running CNI call never
// sees a half-written binary.
func installCNI(args []string) error {
	fs := flag.NewFlagSet("install-cni", flag.ContinueOnError)
	dest := fs.String("dest", "/host/opt/cni/bin", "folder of the node's CNI plugins")
	src := fs.String("src", "", "folder holding the plugins (default: this executable's folder)")
	sub := cmdline.Command{Name: "railnet-agent install-cni",
		Description: "copy the CNI plugins shipped with the agent (" + strings.Join(cniPlugins, ", ") + ") into the node's CNI folder"}
	version := sub.Setup(fs)
	if done, err := sub.Parse(fs, version, args); done || err != nil {
		return err
	}
	if *src == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("install-cni: %w", err)
		}
		*src = filepath.Dir(exe)
	}
	for _, name := range cniPlugins {
		if err := copyExecutable(filepath.Join(*src, name), filepath.Join(*dest, name)); err != nil {
			return fmt.Errorf("install-cni %s into %s: %w", name, *dest, err)
		}
	}
	return nil
}

func copyExecutable(from, to string) (retErr error) {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(to), "."+filepath.Base(to)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), to)
}
