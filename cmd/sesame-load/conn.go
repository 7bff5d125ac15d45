package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// conns is the HTTP/1.1 client of plain http:// instances: each exchange
// runs on the caller's goroutine over a kept-alive connection from a
// pool, writing the request in one write and reading the answer with a
// small parser that keeps only what the tool looks at (status, body,
// Set-Cookie, Location). net/http's client hands every exchange to two
// goroutines per connection and back, and parses every header into a map,
// which cost the tool more CPU than the exchange itself; it stays for
// https:// and for /metrics. Safe for concurrent use.
type conns struct {
	dialer  net.Dialer
	timeout time.Duration
	maxIdle int               // per instance
	hosts   map[string]target // by base URL; read-only

	mu   sync.Mutex
	idle map[string][]*conn // by address
}

// target is where a base URL's requests go: the address to dial and the
// Host header.
type target struct{ addr, host string }

type conn struct {
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	addr string
}

// newConns returns the client of bases, or nil if one is not http://.
func newConns(bases []string, maxIdle int, timeout time.Duration) *conns {
	c := &conns{dialer: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second},
		timeout: timeout, maxIdle: maxIdle, hosts: map[string]target{}, idle: map[string][]*conn{}}
	for _, b := range bases {
		u, err := url.Parse(b)
		if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil
		}
		addr := u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
		c.hosts[b] = target{addr: addr, host: u.Host}
	}
	return c
}

// answer is what the tool keeps of a response.
type answer struct {
	status int
	header http.Header // Set-Cookie and Location only
	body   []byte
}

// exchange sends one request to base and reads the answer. A body is sent
// with its length; headers are sent as given. The request fails after the
// timeout, or when ctx is done.
func (c *conns) exchange(ctx context.Context, base, method, path string, body []byte, headers []header) (answer, error) {
	t, ok := c.hosts[base]
	if !ok {
		return answer{}, fmt.Errorf("unknown base URL %q", base)
	}
	if strings.ContainsAny(method, " \r\n") || strings.ContainsAny(path, " \r\n") {
		return answer{}, fmt.Errorf("malformed request line %q %q", method, path)
	}
	for _, h := range headers {
		if strings.ContainsAny(h.name, ":\r\n") || strings.ContainsAny(h.value, "\r\n") {
			return answer{}, fmt.Errorf("malformed header %q", h.name)
		}
	}
	deadline := time.Now().Add(c.timeout)
	for retried := false; ; retried = true {
		cn, reused, err := c.get(ctx, t.addr, deadline)
		if err != nil {
			return answer{}, c.error(ctx, method, base, path, err)
		}
		a, keep, err := cn.exchange(ctx, t.host, method, path, body, headers, deadline)
		if err == nil {
			if keep {
				c.put(cn)
			} else {
				cn.nc.Close()
			}
			return a, nil
		}
		cn.nc.Close()
		// A kept-alive connection the server closed while it was idle
		// fails before anything comes back: once more, on a new one.
		var stale *staleError
		if !reused || retried || !errors.As(err, &stale) || ctx.Err() != nil {
			return answer{}, c.error(ctx, method, base, path, err)
		}
	}
}

// error names the request, and a passed deadline as the context's.
func (c *conns) error(ctx context.Context, method, base, path string, err error) error {
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = context.DeadlineExceeded
	}
	return &url.Error{Op: method, URL: base + path, Err: err}
}

// staleError is a failure before the server answered a byte.
type staleError struct{ err error }

func (e *staleError) Error() string { return e.err.Error() }
func (e *staleError) Unwrap() error { return e.err }

func (c *conns) get(ctx context.Context, addr string, deadline time.Time) (cn *conn, reused bool, err error) {
	c.mu.Lock()
	if idle := c.idle[addr]; len(idle) > 0 {
		cn = idle[len(idle)-1]
		c.idle[addr] = idle[:len(idle)-1]
		c.mu.Unlock()
		return cn, true, nil
	}
	c.mu.Unlock()
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	nc, err := c.dialer.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 8<<10), bw: bufio.NewWriterSize(nc, 8<<10), addr: addr}, false, nil
}

func (c *conns) put(cn *conn) {
	c.mu.Lock()
	if len(c.idle[cn.addr]) < c.maxIdle {
		c.idle[cn.addr] = append(c.idle[cn.addr], cn)
		cn = nil
	}
	c.mu.Unlock()
	if cn != nil {
		cn.nc.Close()
	}
}

// aLongTimeAgo is a deadline that ends a blocked read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// exchange writes the request and reads the answer; keep is whether the
// connection can carry another.
func (cn *conn) exchange(ctx context.Context, host, method, path string, body []byte, headers []header, deadline time.Time) (a answer, keep bool, err error) {
	if err := cn.nc.SetDeadline(deadline); err != nil {
		return a, false, err
	}
	stop := context.AfterFunc(ctx, func() { _ = cn.nc.SetDeadline(aLongTimeAgo) })
	defer func() {
		if !stop() { // ctx ended the exchange: the deadline is in the past
			keep = false
		}
	}()
	w := cn.bw
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\nUser-Agent: sesame-load\r\n")
	for _, h := range headers {
		w.WriteString(h.name)
		w.WriteString(": ")
		w.WriteString(h.value)
		w.WriteString("\r\n")
	}
	if body != nil || method == "POST" || method == "PUT" || method == "PATCH" {
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
			err = &staleError{err}
		}
		return a, false, err
	}
	if _, err := cn.br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			err = &staleError{err}
		}
		return a, false, err
	}
	for {
		a, keep, err = cn.read(method)
		// An interim 1xx answer (but 101) is followed by the real one.
		if err != nil || a.status >= 200 || a.status == http.StatusSwitchingProtocols {
			return a, keep && err == nil, err
		}
	}
}

var errMalformed = errors.New("malformed HTTP response")

// read reads one answer to a request with method.
func (cn *conn) read(method string) (a answer, keep bool, err error) {
	line, err := cn.line()
	if err != nil {
		return a, false, err
	}
	// HTTP/1.x NNN reason
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return a, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	a.status, err = strconv.Atoi(string(line[9:12]))
	if err != nil || a.status < 100 || (len(line) > 12 && line[12] != ' ') {
		return a, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	minor := line[7]
	keep = minor == '1' // HTTP/1.1 keeps the connection unless told
	length, chunked := int64(-1), false
	for {
		line, err := cn.line()
		if err != nil {
			return a, false, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return a, false, fmt.Errorf("%w: header line %q", errMalformed, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case len(name) == 14 && bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (length >= 0 && n != length) {
				return a, false, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
			length = n
		case len(name) == 17 && bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(value, []byte("chunked")) {
				return a, false, fmt.Errorf("%w: Transfer-Encoding %q", errMalformed, value)
			}
			chunked = true
		case len(name) == 10 && bytes.EqualFold(name, []byte("Connection")):
			for _, opt := range bytes.Split(value, []byte(",")) {
				switch opt = bytes.TrimSpace(opt); {
				case bytes.EqualFold(opt, []byte("close")):
					keep = false
				case bytes.EqualFold(opt, []byte("keep-alive")) && minor == '0':
					keep = true
				}
			}
		case len(name) == 10 && bytes.EqualFold(name, []byte("Set-Cookie")),
			len(name) == 8 && bytes.EqualFold(name, []byte("Location")):
			if a.header == nil {
				a.header = http.Header{}
			}
			a.header.Add(string(name), string(value))
		}
	}
	switch {
	case method == "HEAD" || a.status < 200 || a.status == http.StatusNoContent || a.status == http.StatusNotModified:
	case chunked:
		if a.body, err = io.ReadAll(httputil.NewChunkedReader(cn.br)); err != nil {
			return a, false, err
		}
		for { // the trailer, to its empty line
			line, err := cn.line()
			if err != nil {
				return a, false, err
			}
			if len(line) == 0 {
				break
			}
		}
	case length >= 0:
		if length > 64<<20 {
			return a, false, fmt.Errorf("%w: a %d-byte body", errMalformed, length)
		}
		a.body = make([]byte, length)
		if _, err := io.ReadFull(cn.br, a.body); err != nil {
			return a, false, err
		}
	default: // to the end of the connection
		a.body, err = io.ReadAll(cn.br)
		return a, false, err
	}
	return a, keep, nil
}

// line reads one line of the head, without its CRLF.
func (cn *conn) line() ([]byte, error) {
	line, err := cn.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: a header line longer than %d bytes", errMalformed, cn.br.Size())
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}
