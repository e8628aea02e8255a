package service

import (
	"net/http"
)

// Check is one condition of a probe: Func's error (nil: it holds), shown
// after "Name: " when Name is set. A nil Func always holds.
type Check struct {
	Name string
	Func func() error
}

// Health answers a probe (/healthz, /readyz): 503 with the first failing
// check's error, else 200 "ok".
func Health(checks ...Check) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for _, c := range checks {
			if c.Func == nil {
				continue
			}
			if err := c.Func(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				if c.Name != "" {
					_, _ = w.Write([]byte(c.Name + ": "))
				}
				_, _ = w.Write([]byte(err.Error() + "\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	}
}
