package cmdline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// A failure is printed as "name: err" and is exit code 1; success is 0 and
// prints nothing.
func TestRunMain(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		stderr string
	}{
		{nil, 0, ""},
		{errors.New("load kubeconfig: no such file"), 1, "railnet-webhook: load kubeconfig: no such file\n"},
	} {
		var stderr bytes.Buffer
		code := runMain("railnet-webhook", func(context.Context) error { return tc.err }, &stderr)
		if code != tc.code || stderr.String() != tc.stderr {
			t.Errorf("run returning %v: code %d, stderr %q; want %d, %q", tc.err, code, stderr.String(), tc.code, tc.stderr)
		}
	}
}

// SIGTERM (what the kubelet sends) cancels run's context instead of killing
// the process, so run can stop cleanly.
func TestRunMainSIGTERMCancels(t *testing.T) {
	var stderr bytes.Buffer
	code := runMain("railnet-agent", func(ctx context.Context) error {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			return err
		}
		<-ctx.Done() // a hang here is the failure
		return nil
	}, &stderr)
	if code != 0 || stderr.Len() != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr.String())
	}
}

// The process Main ends exits 1 with the message on its stderr.
func TestMainExits1(t *testing.T) {
	if os.Getenv("CMDLINE_MAIN_CHILD") == "1" {
		Main("railnet extender", func(context.Context) error { return errors.New("--https-address needs --tls-cert-file") })
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainExits1$")
	cmd.Env = append(os.Environ(), "CMDLINE_MAIN_CHILD=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("child: %v, want exit status 1", err)
	}
	if want := "railnet extender: --https-address needs --tls-cert-file\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}
