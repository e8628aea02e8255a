package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// Version is railnet's version, set when building:
// -ldflags "-X github.com/railnet/railnet/api/cmdline.Version=v0.1.0".
var Version = "dev"

// VersionLine is what --version prints, e.g.
// "railnet-webhook dev (go1.26.8 linux/amd64)".
func VersionLine(binary string) string {
	return fmt.Sprintf("%s %s (%s %s/%s)", binary, Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Command describes a binary for its --help.
type Command struct {
	Name        string // railnet-webhook
	Description string // one line: what it is
	// Subcommands are "name: what it does" lines listed in --help.
	Subcommands []string
	// Stdout receives --version (os.Stdout when nil); --help goes to the
	// flag set's output.
	Stdout io.Writer
}

// Setup registers --version on fs and sets its usage: the description, the
// subcommands, then the flags. It returns the --version flag.
func (c Command) Setup(fs *flag.FlagSet) *bool {
	v := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "%s: %s\n\nUsage: %s [flags]\n", c.Name, c.Description, c.Name)
		for _, s := range c.Subcommands {
			name, _, _ := strings.Cut(s, ":")
			fmt.Fprintf(w, "       %s %s [flags]\n", c.Name, name)
		}
		if len(c.Subcommands) > 0 {
			fmt.Fprintln(w, "\nSubcommands:")
			for _, s := range c.Subcommands {
				fmt.Fprintf(w, "  %s\n", s)
			}
		}
		fmt.Fprintln(w, "\nFlags:")
		fs.PrintDefaults()
	}
	return v
}

// Parse parses args into fs (set up with Setup). It returns done when the
// binary should exit 0 at once: --version was given (and printed) or --help
// was asked for (and shown).
func (c Command) Parse(fs *flag.FlagSet, version *bool, args []string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	if *version {
		out := c.Stdout
		if out == nil {
			out = os.Stdout
		}
		fmt.Fprintln(out, VersionLine(c.Name))
		return true, nil
	}
	return false, nil
}
