package app

import (
	"strings"
	"testing"
)

func TestRunRefusesBadConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no address to serve on"},
		{Config{HTTPSAddr: ":0"}, "HTTPS needs --tls-cert-file and --tls-key-file"},
		{Config{HTTPSAddr: ":0", CertFile: "/nonexistent.crt", KeyFile: "/nonexistent.key"}, "/nonexistent.crt"},
	} {
		err := Run(t.Context(), nil, tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}
