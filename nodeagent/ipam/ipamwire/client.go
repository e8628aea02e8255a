package ipamwire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// ErrUnreachable marks a call that never reached the service: nothing
// listens on the socket (the agent is down or restarting), so nothing was
// allocated or released.
var ErrUnreachable = errors.New("no IPAM service listens on the socket")

// ErrInterrupted marks a call whose connection the service dropped before
// answering: the agent died or restarted mid-call, so whether it acted is
// unknown (its collector settles releases; an allocation is retried).
var ErrInterrupted = errors.New("the IPAM service went away before answering")

// Client calls the agent's IPAM service; the railnet-ipam plugin uses it.
type Client struct {
	Socket string
	http   *http.Client
}

// NewClient returns a client for the service on socket.
func NewClient(socket string) *Client {
	if socket == "" {
		socket = DefaultSocket
	}
	return &Client{Socket: socket, http: &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
	}}
}

// Allocate asks for the interface's addresses.
func (c *Client) Allocate(ctx context.Context, req Request) ([]Address, error) {
	var resp AllocateResponse
	if err := c.call(ctx, PathAllocate, req, &resp); err != nil {
		return nil, err
	}
	return resp.Addresses, nil
}

// Release frees the interface's addresses held for the container.
func (c *Client) Release(ctx context.Context, req ReleaseRequest) error {
	return c.call(ctx, PathRelease, req, nil)
}

// Check verifies the interface still holds its addresses.
func (c *Client) Check(ctx context.Context, req CheckRequest) error {
	return c.call(ctx, PathCheck, req, nil)
}

// NCCL asks the agent for the interface's GID and the pod's NCCL conf file.
func (c *Client) NCCL(ctx context.Context, req NCCLRequest) (NCCLResponse, error) {
	var resp NCCLResponse
	err := c.call(ctx, PathNCCL, req, &resp)
	return resp, err
}

func (c *Client) call(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://railnet-ipam"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if opErr := (*net.OpError)(nil); errors.As(err, &opErr) && opErr.Op == "dial" {
			err = fmt.Errorf("%w: %w", ErrUnreachable, err)
		} else if dropped(err) {
			err = fmt.Errorf("%w: %w", ErrInterrupted, err)
		}
		return fmt.Errorf("railnet IPAM service at %s: %w (is the railnet node agent running on this node?)", c.Socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e ErrorResponse
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error == "" {
			return fmt.Errorf("railnet IPAM service: HTTP %d", resp.StatusCode)
		}
		return fmt.Errorf("%s", e.Error)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// dropped reports whether err is the service closing the connection
// mid-call (reset, broken pipe, or end of stream before a response).
func dropped(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
