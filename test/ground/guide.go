package ground

import (
	"bufio"
	"os"
	"strings"
)

// GuideCommands returns the shell commands of a Markdown document's sh
// blocks (the operator guide's), in order, continuation lines joined: the
// commands the tests run as written.
func GuideCommands(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cmds []string
	var cur strings.Builder
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text()) // blocks in list items are indented
		switch {
		case line == "```sh":
			in = true
		case line == "```":
			in = false
		case in:
			cont := strings.HasSuffix(line, `\`)
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			if !cont {
				cmds = append(cmds, strings.TrimSpace(cur.String()))
				cur.Reset()
			}
		}
	}
	return cmds, s.Err()
}
