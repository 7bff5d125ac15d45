package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// client speaks Sesame's HTTP API to one or several instances, sending
// each request to the next base URL in turn, so that a ceremony begun on
// one instance is finished on another. Safe for concurrent use.
type client struct {
	bases []string
	next  atomic.Uint64
	http  *http.Client // for https:// and /metrics
	conns *conns       // for plain http://; nil if a base is https://
}

func newClient(bases []string, conns int, timeout time.Duration) *client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * len(bases),
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	// Redirects are answers to look at (the OpenID Connect hand-over),
	// never followed.
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{bases: bases, http: &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: noFollow},
		conns: newConns(bases, conns, timeout)}
}

// statusError is an answer other than the one expected.
type statusError struct {
	status int
	code   string // the problem's "code", if any
}

func (e *statusError) Error() string {
	if e.code != "" {
		return fmt.Sprintf("%d %s", e.status, e.code)
	}
	return strconv.Itoa(e.status)
}

// errorKey names an error for the errors-by-status table.
func errorKey(err error) string {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.Error()
	case errors.Is(err, context.DeadlineExceeded), strings.Contains(err.Error(), "Timeout exceeded"):
		return "timeout"
	case errors.Is(err, errNoMail):
		return "no mail"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "net"
	}
	return "client"
}

// session is what a sign-in or refresh gives a client.
type session struct {
	access   string
	refresh  string
	userID   string
	issuedAt time.Time
}

type header struct{ name, value string }

// call sends one request and decodes a JSON answer into out (if not nil),
// failing unless the status is want.
func (c *client) call(ctx context.Context, method, path string, body any, want int, out any, headers ...header) (http.Header, error) {
	a, err := c.callRaw(ctx, method, path, body, want, headers...)
	if err != nil {
		return nil, err
	}
	return a.header, a.decode(method, path, out)
}

// rawJSON is a request body already encoded.
type rawJSON []byte

// callRaw sends one request with body as JSON (unless nil) and returns the
// answer, failing unless the status is want.
func (c *client) callRaw(ctx context.Context, method, path string, body any, want int, headers ...header) (answer, error) {
	if body == nil {
		return c.send(ctx, method, path, nil, want, headers...)
	}
	b, ok := body.(rawJSON)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return answer{}, err
		}
	}
	return c.send(ctx, method, path, b, want, append([]header{{"Content-Type", "application/json"}}, headers...)...)
}

// form posts a form-encoded body (the OAuth protocol endpoints).
func (c *client) form(ctx context.Context, path string, v url.Values, want int, out any, headers ...header) (http.Header, error) {
	a, err := c.send(ctx, "POST", path, []byte(v.Encode()), want,
		append([]header{{"Content-Type", "application/x-www-form-urlencoded"}}, headers...)...)
	if err != nil {
		return nil, err
	}
	return a.header, a.decode("POST", path, out)
}

// decode reads the JSON body into out, if not nil.
func (a answer) decode(method, path string, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// send sends one request and returns the answer, failing unless the status
// is want.
func (c *client) send(ctx context.Context, method, path string, body []byte, want int, headers ...header) (answer, error) {
	base := c.bases[(c.next.Add(1)-1)%uint64(len(c.bases))]
	var a answer
	var err error
	if c.conns != nil {
		a, err = c.conns.exchange(ctx, base, method, path, body, headers)
	} else {
		a, err = c.roundTrip(ctx, base, method, path, body, headers)
	}
	if err != nil {
		return a, err
	}
	if a.status != want {
		var p struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(a.body, &p)
		return a, &statusError{status: a.status, code: p.Code}
	}
	return a, nil
}

// roundTrip is an exchange through net/http (https://).
func (c *client) roundTrip(ctx context.Context, base, method, path string, body []byte, headers []header) (answer, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, r)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("User-Agent", "sesame-load")
	for _, h := range headers {
		req.Header.Set(h.name, h.value)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: res.StatusCode, header: res.Header, body: raw}, nil
}

// sessionCall sends a request that answers a session.
func (c *client) sessionCall(ctx context.Context, path string, body any, headers ...header) (session, error) {
	a, err := c.callRaw(ctx, "POST", path, body, http.StatusOK, headers...)
	if err != nil {
		return session{}, err
	}
	s := session{issuedAt: time.Now()}
	if v, ok := stringFields(a.body, "access_token", "user.id"); ok {
		s.access, s.userID = v[0], v[1]
	} else {
		var out struct {
			AccessToken string `json:"access_token"`
			User        struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		if err := a.decode("POST", path, &out); err != nil {
			return session{}, err
		}
		s.access, s.userID = out.AccessToken, out.User.ID
	}
	s.refresh = cookie(a.header, "sesame_refresh")
	if s.access == "" || s.refresh == "" {
		return s, errors.New("incomplete session answer")
	}
	return s, nil
}

// cookie is the value of the last cookie named name that h sets; "" if
// none.
func cookie(h http.Header, name string) string {
	value := ""
	for _, line := range h["Set-Cookie"] {
		pair, _, _ := strings.Cut(line, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok && k == name {
			v = strings.TrimSpace(v)
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			value = v
		}
	}
	return value
}

func bearer(token string) header { return header{"Authorization", "Bearer " + token} }

func refreshCookie(value string) header { return header{"Cookie", "sesame_refresh=" + value} }

// ceremony is a WebAuthn begin answer.
type ceremony struct {
	ID        string          `json:"ceremony_id"`
	PublicKey json.RawMessage `json:"publicKey"`
}

// finishBody is {"ceremony_id": id, "credential": credential}, credential
// being the authenticator's JSON.
func finishBody(id string, credential []byte) rawJSON {
	q, _ := json.Marshal(id) // a string always marshals
	b := make([]byte, 0, len(`{"ceremony_id":,"credential":}`)+len(q)+len(credential))
	b = append(b, `{"ceremony_id":`...)
	b = append(b, q...)
	b = append(b, `,"credential":`...)
	b = append(b, credential...)
	return append(b, '}')
}

// publicURL asks the first instance for the public URL (the issuer), which
// is the WebAuthn origin whatever address the tool connects to.
func (c *client) publicURL(ctx context.Context) (string, error) {
	var out struct {
		Issuer string `json:"issuer"`
	}
	if _, err := c.call(ctx, "GET", "/.well-known/openid-configuration", nil, http.StatusOK, &out); err != nil {
		return "", fmt.Errorf("openid-configuration: %w", err)
	}
	if out.Issuer == "" {
		return "", errors.New("openid-configuration names no issuer")
	}
	return out.Issuer, nil
}
