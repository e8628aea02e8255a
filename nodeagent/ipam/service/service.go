package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"k8s.io/klog/v2"

	apiservice "github.com/railnet/railnet/api/service"
	"github.com/railnet/railnet/nodeagent/ipam/alloc"
	"github.com/railnet/railnet/nodeagent/ipam/ipamwire"
	"github.com/railnet/railnet/nodeagent/metrics"
	"github.com/railnet/railnet/nodeagent/nccl"
)

// Wire types of the IPAM socket, defined in ipamwire.
type (
	AllocateResponse = ipamwire.AllocateResponse
	ReleaseRequest   = ipamwire.ReleaseRequest
	CheckRequest     = ipamwire.CheckRequest
	ErrorResponse    = ipamwire.ErrorResponse
)

// Service serves the allocator on a unix socket that only root can reach.
type Service struct {
	Socket    string
	Allocator *alloc.Allocator
	// ReadTimeout bounds reading a request (default 10 s): a client that
	// stalls is cut off rather than holding a connection.
	ReadTimeout time.Duration
	// NCCL, when set, writes pods' NCCL conf files (PathNCCL) and removes
	// them with the pod's addresses.
	NCCL *nccl.Service
	// NCCLNotifier, when set, tells a pod whose NCCL cannot be pointed at
	// its own GIDs (annotation and event).
	NCCLNotifier *nccl.Notifier
}

// Run serves until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	sock := s.Socket
	if sock == "" {
		sock = ipamwire.DefaultSocket
	}
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		return err
	}
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale IPAM socket %s: %w", sock, err)
	}
	// The socket appears at its path already 0600: it is bound under a
	// temporary name, restricted, then renamed into place.
	tmp := sock + ".tmp"
	_ = os.Remove(tmp)
	l, err := net.Listen("unix", tmp)
	if err != nil {
		return fmt.Errorf("listen on IPAM socket %s: %w", sock, err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		l.Close()
		return err
	}
	if err := os.Rename(tmp, sock); err != nil {
		l.Close()
		return fmt.Errorf("put IPAM socket in place at %s: %w", sock, err)
	}
	defer os.Remove(sock)
	// CNI plugins send a small request and wait up to a minute for the
	// answer (an allocation may retry against the API server); a client that
	// stalls or never reads is cut off rather than holding a connection.
	readTimeout := s.ReadTimeout
	if readTimeout == 0 {
		readTimeout = 10 * time.Second
	}
	return apiservice.Serve(ctx, l, s.Handler(), nil, apiservice.WithTimeouts(apiservice.Timeouts{
		ReadHeader: min(5*time.Second, readTimeout), Read: readTimeout, Write: 70 * time.Second, Idle: 30 * time.Second, Drain: 5 * time.Second}))
}

// Handler routes the IPAM requests.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ipamwire.PathAllocate, func(w http.ResponseWriter, r *http.Request) {
		var req ipamwire.Request
		if !decode(w, r, &req) {
			if s.Allocator != nil {
				s.Allocator.Metrics.Failed(metrics.FailureBadRequest)
			}
			return
		}
		addrs, err := s.Allocator.Allocate(r.Context(), req)
		if err != nil {
			status := http.StatusInternalServerError
			var ex *alloc.ExhaustedError
			if errors.As(err, &ex) {
				status = http.StatusConflict
			}
			writeJSON(w, status, ErrorResponse{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, AllocateResponse{Addresses: addrs})
	})
	mux.HandleFunc("POST "+ipamwire.PathRelease, func(w http.ResponseWriter, r *http.Request) {
		var req ReleaseRequest
		if !decode(w, r, &req) {
			return
		}
		if err := s.Allocator.Release(r.Context(), req.PodUID, req.ContainerID, req.IfName); err != nil {
			writeJSON(w, http.StatusInternalServerError, ErrorResponse{Error: err.Error()})
			return
		}
		if s.NCCL != nil {
			if err := s.NCCL.Remove(req.PodUID); err != nil {
				klog.FromContext(r.Context()).Error(err, "remove the pod's NCCL folder", "podUID", req.PodUID)
			}
		}
		if s.NCCLNotifier != nil {
			s.NCCLNotifier.Forget(req.PodUID)
		}
		writeJSON(w, http.StatusOK, struct{}{})
	})
	mux.HandleFunc("POST "+ipamwire.PathNCCL, func(w http.ResponseWriter, r *http.Request) {
		var req ipamwire.NCCLRequest
		if !decode(w, r, &req) {
			return
		}
		if s.NCCL == nil {
			writeJSON(w, http.StatusNotFound, ErrorResponse{Error: "this node agent writes no NCCL conf files (--nccl-dir is empty)"})
			return
		}
		rail, conf, err := s.NCCL.Rail(r.Context(), req.PodUID, req.IfName, req.Master, req.IP)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: err.Error()})
			return
		}
		if conf.Warning != "" {
			klog.FromContext(r.Context()).Info("NCCL cannot be pointed at the pod's own GIDs", "podUID", req.PodUID, "warning", conf.Warning)
		}
		if s.NCCLNotifier != nil {
			s.NCCLNotifier.Warn(r.Context(), nccl.PodRef{Namespace: req.PodNamespace, Name: req.PodName, UID: req.PodUID}, conf.Warning)
		}
		writeJSON(w, http.StatusOK, ipamwire.NCCLResponse{HCA: rail.HCA, Port: rail.Port, GIDIndex: rail.GIDIndex, Warning: conf.Warning})
	})
	mux.HandleFunc("POST "+ipamwire.PathCheck, func(w http.ResponseWriter, r *http.Request) {
		var req CheckRequest
		if !decode(w, r, &req) {
			return
		}
		if err := s.Allocator.Check(r.Context(), req.PodUID, req.IfName, req.IPs); err != nil {
			writeJSON(w, http.StatusConflict, ErrorResponse{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	})
	return mux
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "malformed IPAM request: " + err.Error()})
		return false
	}
	// One JSON object per request: anything after it is refused, not
	// silently ignored.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "malformed IPAM request: data after the JSON object"})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
