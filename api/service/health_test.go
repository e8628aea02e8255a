package service

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealth(t *testing.T) {
	ok := func() error { return nil }
	noCert := func() error { return errors.New("no serving certificate loaded from files yet") }
	syncing := func() error { return errors.New("caches not synced") }
	for _, tc := range []struct {
		name   string
		checks []Check
		code   int
		body   string
	}{
		{"no checks", nil, 200, "ok\n"},
		{"all hold; a nil check holds", []Check{{"certificate", ok}, {"", nil}}, 200, "ok\n"},
		{"a named check fails", []Check{{"certificate", noCert}}, 503, "certificate: no serving certificate loaded from files yet\n"},
		{"an unnamed check fails", []Check{{"certificate", ok}, {"", syncing}}, 503, "caches not synced\n"},
		{"the first failure is shown", []Check{{"certificate", noCert}, {"", syncing}}, 503, "certificate: no serving certificate loaded from files yet\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			Health(tc.checks...)(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if w.Code != tc.code || w.Body.String() != tc.body || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("%d %q (%s), want %d %q", w.Code, w.Body.String(), w.Header().Get("Content-Type"), tc.code, tc.body)
			}
		})
	}
}
