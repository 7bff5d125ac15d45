package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"

	"github.com/sesame-auth/sesame/internal/virtualauthn"
)

// client speaks Sesame's HTTP API to one or several instances, sending
// each request to the next base URL in turn, so that a ceremony begun on
// one instance is finished on another. Exchanges go through fasthttp,
// which runs each on the caller's goroutine over a kept-alive connection
// and parses no header into a map (net/http's client cost the tool more
// CPU than the exchange itself); net/http stays for /metrics. Safe for
// concurrent use.
type client struct {
	bases   []string
	next    atomic.Uint64
	hosts   map[string]target // by base URL; read-only
	timeout time.Duration
	json    fastjson.ParserPool
	http    *http.Client // for /metrics
}

// target is where a base URL's requests go, and their Host header.
type target struct {
	hc   *fasthttp.HostClient
	host string
}

// newClient returns the client of bases, with up to conns connections to
// each.
func newClient(bases []string, conns int, timeout time.Duration) (*client, error) {
	c := &client{bases: bases, hosts: map[string]target{}, timeout: timeout,
		http: &http.Client{Timeout: timeout, Transport: &http.Transport{DisableCompression: true}}}
	for _, b := range bases {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("-url: %q is not an http:// or https:// base URL", b)
		}
		addr := u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
		}
		c.hosts[b] = target{host: u.Host, hc: &fasthttp.HostClient{
			Addr:                   addr,
			IsTLS:                  u.Scheme == "https",
			Name:                   "sesame-load",
			MaxConns:               conns,
			MaxConnWaitTimeout:     timeout,
			MaxIdleConnDuration:    90 * time.Second,
			ReadTimeout:            timeout,
			WriteTimeout:           timeout,
			ReadBufferSize:         8 << 10,
			DisablePathNormalizing: true,
		}}
	}
	return c, nil
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
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, fasthttp.ErrTimeout),
		errors.Is(err, fasthttp.ErrDialTimeout), strings.Contains(err.Error(), "Timeout exceeded"):
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

// answer is what the tool keeps of a response.
type answer struct {
	status int
	header http.Header // Set-Cookie and Location only
	body   []byte
}

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
// is want. The request fails after the timeout, or when ctx ends.
func (c *client) send(ctx context.Context, method, path string, body []byte, want int, headers ...header) (answer, error) {
	base := c.bases[(c.next.Add(1)-1)%uint64(len(c.bases))]
	a, err := c.exchange(ctx, base, method, path, body, headers)
	if err != nil {
		return a, &url.Error{Op: method, URL: base + path, Err: err}
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

// exchange is one request to base and its answer; redirects are answers
// to look at (the OpenID Connect hand-over), never followed.
func (c *client) exchange(ctx context.Context, base, method, path string, body []byte, headers []header) (answer, error) {
	// fasthttp takes no context: the request ends by the context's
	// deadline, if sooner than the timeout, and then fails as the context
	// does (whose timer may not have fired yet).
	timeout, bounded := c.timeout, false
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout, bounded = time.Until(d), true
	}
	if ctx.Err() != nil || (bounded && timeout <= 0) {
		<-ctx.Done()
		return answer{}, ctx.Err()
	}
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	t := c.hosts[base]
	req.Header.SetMethod(method)
	req.Header.SetHost(t.host)
	req.Header.SetNoDefaultContentType(true)
	req.SetRequestURI(path)
	if t.hc.IsTLS {
		req.URI().SetScheme("https")
	}
	for _, h := range headers {
		req.Header.Set(h.name, h.value)
	}
	if body != nil {
		req.SetBodyRaw(body)
	}
	if err := t.hc.DoTimeout(req, res, timeout); err != nil {
		if bounded && errors.Is(err, fasthttp.ErrTimeout) {
			<-ctx.Done()
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return answer{}, err
	}
	a := answer{status: res.StatusCode(), body: append([]byte(nil), res.Body()...)}
	res.Header.VisitAllCookie(func(_, line []byte) {
		if a.header == nil {
			a.header = http.Header{}
		}
		a.header.Add("Set-Cookie", string(line))
	})
	if loc := res.Header.Peek("Location"); len(loc) > 0 {
		if a.header == nil {
			a.header = http.Header{}
		}
		a.header.Set("Location", string(loc))
	}
	return a, nil
}

// stringFields returns the strings at paths (member names, from the top)
// of the JSON object b; ok is false unless each is there and a string.
func (c *client) stringFields(b []byte, paths ...[]string) (values []string, ok bool) {
	p := c.json.Get()
	defer c.json.Put(p)
	v, err := p.ParseBytes(b)
	if err != nil || v.Type() != fastjson.TypeObject {
		return nil, false
	}
	values = make([]string, len(paths))
	for i, path := range paths {
		s := v.Get(path...)
		if s == nil || s.Type() != fastjson.TypeString {
			return nil, false
		}
		values[i] = string(s.GetStringBytes())
	}
	return values, true
}

// sessionCall sends a request that answers a session.
func (c *client) sessionCall(ctx context.Context, path string, body any, headers ...header) (session, error) {
	a, err := c.callRaw(ctx, "POST", path, body, http.StatusOK, headers...)
	if err != nil {
		return session{}, err
	}
	s := session{issuedAt: time.Now()}
	v, ok := c.stringFields(a.body, []string{"access_token"}, []string{"user", "id"})
	if !ok {
		return session{}, fmt.Errorf("POST %s: not a session answer", path)
	}
	s.access, s.userID = v[0], v[1]
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

// assert answers the login/begin answer b with auth: the ceremony id and
// the assertion. A discoverable request (no allowCredentials, as Sesame
// sends) needs only the challenge from the options.
func (c *client) assert(auth *virtualauthn.Authenticator, b []byte) (id string, assertion []byte, err error) {
	p := c.json.Get()
	defer c.json.Put(p)
	v, err := p.ParseBytes(b)
	if err != nil {
		return "", nil, err
	}
	pk := v.Get("publicKey")
	if id = string(v.GetStringBytes("ceremony_id")); id == "" || pk == nil {
		return "", nil, errors.New("no ceremony_id or publicKey")
	}
	if pk.Exists("allowCredentials") {
		assertion, err = auth.Get(pk.MarshalTo(nil))
		return id, assertion, err
	}
	ch := pk.GetStringBytes("challenge")
	if len(ch) == 0 {
		return "", nil, errors.New("no challenge")
	}
	challenge := make([]byte, base64.RawURLEncoding.DecodedLen(len(ch)))
	n, err := base64.RawURLEncoding.Decode(challenge, ch)
	if err != nil {
		return "", nil, fmt.Errorf("challenge: %w", err)
	}
	assertion, err = auth.GetDiscoverable(challenge[:n])
	return id, assertion, err
}

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
