package ipamwire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
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

// callTimeout bounds one call, connection to answer.
const callTimeout = 60 * time.Second

// Client calls the agent's IPAM service; the railnet-ipam plugin uses it.
//
// A call is one HTTP/1.0 POST on its own connection (the service is Go's
// net/http server; HTTP/1.0 makes it close the connection after the answer,
// so the answer is never chunked). The client speaks it with net/textproto
// rather than net/http: a plugin is a process per interface of every pod,
// and net/http (with crypto/tls, x509 and http2 it links) made each
// railnet-coordinator and railnet-ipam process start ~0.9 ms CPU slower and
// its binary 3.3 MB larger.
type Client struct {
	Socket string
}

// NewClient returns a client for the service on socket.
func NewClient(socket string) *Client {
	if socket == "" {
		socket = DefaultSocket
	}
	return &Client{Socket: socket}
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
	status, answer, err := c.post(ctx, path, body)
	if err != nil {
		if opErr := (*net.OpError)(nil); errors.As(err, &opErr) && opErr.Op == "dial" {
			err = fmt.Errorf("%w: %w", ErrUnreachable, err)
		} else if dropped(err) {
			err = fmt.Errorf("%w: %w", ErrInterrupted, err)
		}
		return fmt.Errorf("railnet IPAM service at %s: %w (is the railnet node agent running on this node?)", c.Socket, err)
	}
	if status != 200 {
		var e ErrorResponse
		if err := json.NewDecoder(bytes.NewReader(answer)).Decode(&e); err != nil || e.Error == "" {
			return fmt.Errorf("railnet IPAM service: HTTP %d", status)
		}
		return fmt.Errorf("%s", e.Error)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(bytes.NewReader(answer)).Decode(out)
}

// post sends body to path and returns the status and body of the answer.
func (c *Client) post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Socket)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	// The deadline bounds every read and write; cancelling ctx ends them at once.
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return 0, nil, err
	}
	defer context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })()
	status, answer, err := exchange(conn, path, body)
	if err != nil && ctx.Err() != nil {
		return 0, nil, fmt.Errorf("%w (%w)", context.Cause(ctx), err)
	}
	return status, answer, err
}

// exchange writes the request on conn and reads the answer. The answer is
// read even when writing failed: the service answers and closes early when
// it refuses a request it did not read to the end.
func exchange(conn io.ReadWriter, path string, body []byte) (int, []byte, error) {
	req := make([]byte, 0, 128+len(body))
	req = fmt.Appendf(req, "POST %s HTTP/1.0\r\nHost: railnet-ipam\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, len(body))
	_, werr := conn.Write(append(req, body...))
	status, answer, err := readAnswer(bufio.NewReader(conn))
	if err != nil && werr != nil {
		return 0, nil, werr
	}
	return status, answer, err
}

// readAnswer reads an HTTP/1.x answer: status line, header, then the body
// (Content-Length bytes, or up to the end of the connection).
func readAnswer(br *bufio.Reader) (int, []byte, error) {
	r := textproto.NewReader(br)
	line, err := r.ReadLine()
	if err != nil {
		return 0, nil, err
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !strings.HasPrefix(proto, "HTTP/1.") || len(code) != 3 || err != nil {
		return 0, nil, fmt.Errorf("malformed HTTP status line %q", line)
	}
	header, err := r.ReadMIMEHeader()
	if err != nil {
		if _, end := br.Peek(1); errors.Is(end, io.EOF) {
			err = fmt.Errorf("%w: %w", io.ErrUnexpectedEOF, err) // the connection ended inside the header
		}
		return 0, nil, err
	}
	if cl := header.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return 0, nil, fmt.Errorf("malformed HTTP Content-Length %q", cl)
		}
		answer := make([]byte, n)
		if _, err := io.ReadFull(br, answer); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
		return status, answer, nil
	}
	answer, err := io.ReadAll(br)
	return status, answer, err
}

// dropped reports whether err is the service closing the connection
// mid-call (reset, broken pipe, or end of stream before a response).
func dropped(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
