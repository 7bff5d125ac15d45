package oidc

// Approvals: OpenID Connect Client-Initiated Backchannel Authentication
// Core 1.0, poll mode (API.md "Approvals", SECURITY rule 61). An app asks
// a person to approve one exact message; the person approves with a
// passkey whose challenge covers that message; the app polls the token
// endpoint and gets an ID token that repeats it.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/signin"
)

// CIBA parameters (API.md "Approvals").
const (
	GrantCIBA = "urn:openid:params:grant-type:ciba"
	// CIBAInterval is the least time between two polls of one request.
	CIBAInterval = 5 * time.Second
	// CIBAMaxExpiry caps requested_expiry; CIBADefaultExpiry is used
	// without one.
	CIBAMaxExpiry     = 10 * time.Minute
	CIBADefaultExpiry = 5 * time.Minute
	// MaxBindingMessage is the longest binding_message, in characters.
	MaxBindingMessage = 200
	// MaxPendingApprovals is how many live requests may wait for one person.
	MaxPendingApprovals = 5
)

// Audit events of approvals.
const (
	EventCIBARequested = "ciba_requested"
	EventCIBAApproved  = "ciba_approved"
	EventCIBADenied    = "ciba_denied"
	EventCIBARedeemed  = "ciba_redeemed"
	// EventCIBAExpired is recorded once per request that expired
	// unanswered, by whichever of the sweeper, a poll or the person's
	// page finds it first.
	EventCIBAExpired = "ciba_expired"
)

// CIBAStore keeps the requests; db.DB implements it.
type CIBAStore interface {
	InsertCIBARequest(ctx context.Context, r sesame.CIBARequest, maxPending int, mails ...sesame.QueuedMail) error
	CIBARequestByHash(ctx context.Context, hash []byte) (sesame.CIBARequest, error)
	CIBARequestByLink(ctx context.Context, hash []byte) (sesame.CIBARequest, error)
	DecideCIBARequestByLink(ctx context.Context, hash []byte, status string, amr []string, now time.Time) error
	ExpireCIBARequest(ctx context.Context, id string, now time.Time) error
	ExpireCIBARequests(ctx context.Context, now time.Time) ([]sesame.CIBARequest, error)
	CIBARequestOfUser(ctx context.Context, id, userID string) (sesame.CIBARequest, error)
	PendingCIBARequests(ctx context.Context, userID string, now time.Time) ([]sesame.CIBARequest, error)
	PollCIBARequest(ctx context.Context, hash []byte, clientID string, notAfter, now time.Time) error
	DecideCIBARequest(ctx context.Context, id, userID, status string, amr []string, now time.Time) error
	RedeemCIBARequest(ctx context.Context, hash []byte, clientID string, now time.Time) error
}

// Mailer is the durable outbox (mail.Queue): Prepare seals a draft, the
// store queues it with the request, Queued wakes a worker to send it.
type Mailer interface {
	Prepare(d mail.Draft, expires time.Time) (sesame.QueuedMail, error)
	Queued(n int)
}

// Passkeys runs the approval's WebAuthn assertion; webauthn.Service
// implements it. FinishApproval calls bound with the ceremony's challenge
// and refuses the assertion unless it says true.
type Passkeys interface {
	BeginApproval(ctx context.Context, u sesame.User, challenge []byte) (string, json.RawMessage, error)
	FinishApproval(ctx context.Context, u sesame.User, ceremonyID string, bound func(challenge []byte) bool, credential []byte) (signin.Proof, error)
}

// CIBAResponse answers a backchannel authentication request (CIBA §7.3).
type CIBAResponse struct {
	AuthReqID string `json:"auth_req_id"`
	ExpiresIn int    `json:"expires_in"`
	Interval  int    `json:"interval"`
}

// bcParams may each appear at most once in a backchannel request.
var bcParams = []string{"scope", "login_hint", "binding_message", "acr_values", "requested_expiry",
	"client_id", "client_secret", "ui_locales", "login_hint_token", "id_token_hint", "user_code", "client_notification_token"}

// BackchannelAuthorize answers POST /oauth2/bc-authorize: a confidential
// client registered with --ciba asks the person login_hint names to
// approve binding_message. The person is emailed a link to the approval
// page, in the first language of ui_locales Sesame writes (else English).
// A hint that names nobody gets the same answers, the sixth pending
// request's refusal included, and its request never completes.
func (p *Provider) BackchannelAuthorize(ctx context.Context, form url.Values, auth ClientAuth) (CIBAResponse, error) {
	for _, name := range bcParams {
		if len(form[name]) > 1 {
			return CIBAResponse{}, invalidRequest("The parameter " + name + " is repeated.")
		}
	}
	c, err := p.authenticate(ctx, auth)
	if err != nil {
		return CIBAResponse{}, err
	}
	if !c.CIBA || c.Public {
		return CIBAResponse{}, &Error{Code: "unauthorized_client", Description: "This client is not registered for approvals (--ciba).", Status: 400}
	}
	if p.cfg.LimitClient != nil {
		if err := p.cfg.LimitClient(ctx, c.ID); err != nil {
			return CIBAResponse{}, err
		}
	}
	scopes := strings.Fields(form.Get("scope"))
	hint, msg := form.Get("login_hint"), form.Get("binding_message")
	acr := strings.Fields(form.Get("acr_values"))
	switch {
	case !slices.Contains(scopes, ScopeOpenID):
		return CIBAResponse{}, &Error{Code: "invalid_scope", Description: "The scope must include openid.", Status: 400}
	case form.Get("login_hint_token") != "" || form.Get("id_token_hint") != "":
		return CIBAResponse{}, invalidRequest("Name the person with login_hint (an email address or a user id).")
	case form.Get("user_code") != "":
		return CIBAResponse{}, invalidRequest("user_code is not supported.")
	case hint == "" || len(hint) > 320:
		return CIBAResponse{}, invalidRequest("login_hint is required: an email address or a user id.")
	case !goodBindingMessage(msg):
		return CIBAResponse{}, &Error{Code: "invalid_binding_message", Status: 400,
			Description: "binding_message must be 1 to 200 characters of text, without control characters."}
	}
	for _, a := range acr {
		if a != ACRPhishingResistant && a != ACRPhishingResistantHardware {
			return CIBAResponse{}, invalidRequest("acr_values may hold phr and phrh only.")
		}
	}
	expiry := CIBADefaultExpiry
	if v := form.Get("requested_expiry"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || time.Duration(n)*time.Second > CIBAMaxExpiry {
			return CIBAResponse{}, invalidRequest("requested_expiry is 1 to 600 seconds.")
		}
		expiry = time.Duration(n) * time.Second
	}
	u := p.hintedUser(ctx, hint)
	userID := u.ID
	raw := sesame.NewToken()
	now := p.cfg.Now()
	r := sesame.CIBARequest{ID: sesame.NewID(), Hash: hashCode(raw), ClientID: c.ID, UserID: userID, HintHash: hashCode(hintKey(hint)),
		Scopes: knownScopes(scopes), BindingMessage: msg, ACRValues: acr, CreatedAt: now, ExpiresAt: now.Add(expiry)}
	var mails []sesame.QueuedMail
	if userID != "" && p.cfg.Mail != nil && p.mayMail(ctx, userID) {
		link := sesame.NewToken()
		r.LinkHash = hashCode(link)
		m, err := p.cfg.Mail.Prepare(mail.Approval(mail.ApprovalData{
			To: u.Email, App: c.Name, Message: msg, Link: p.cfg.Issuer + "/approve#t=" + link,
			ExpiresInMinutes: int((expiry + time.Minute - 1) / time.Minute), Language: mailLanguage(form.Get("ui_locales")),
		}), r.ExpiresAt)
		if err != nil {
			return CIBAResponse{}, fmt.Errorf("backchannel authorize: %w", err)
		}
		mails = append(mails, m)
	}
	if err := p.cfg.CIBA.InsertCIBARequest(ctx, r, MaxPendingApprovals, mails...); errors.Is(err, sesame.ErrNotFound) {
		p.record(ctx, sesame.AuditEvent{Event: EventCIBARequested, Result: "too_many_pending", UserID: userID, Detail: "client " + c.ID})
		return CIBAResponse{}, &Error{Code: "access_denied", Description: "Too many approvals are already waiting for this person.", Status: 403}
	} else if err != nil {
		return CIBAResponse{}, err
	}
	if len(mails) > 0 {
		p.cfg.Mail.Queued(len(mails))
	}
	p.record(ctx, sesame.AuditEvent{Event: EventCIBARequested, Result: "success", UserID: userID, Detail: "client " + c.ID + " request " + r.ID})
	return CIBAResponse{AuthReqID: raw, ExpiresIn: int(expiry / time.Second), Interval: int(CIBAInterval / time.Second)}, nil
}

// mayMail counts an approval mail to userID against its limit.
func (p *Provider) mayMail(ctx context.Context, userID string) bool {
	if p.cfg.LimitMail == nil {
		return true
	}
	if err := p.cfg.LimitMail(ctx, userID); err != nil {
		p.cfg.Logger.Warn("approval mail not sent", "user", userID, "err", err)
		return false
	}
	return true
}

// mailLanguage is the first language of ui_locales (OpenID Connect Core
// §3.1.2.1) that the mails are written in, else English.
func mailLanguage(uiLocales string) string {
	for _, tag := range strings.Fields(uiLocales) {
		if l := mail.Language(tag); l != "en" || strings.HasPrefix(strings.ToLower(tag), "en") {
			return l
		}
	}
	return "en"
}

// hintKey is login_hint as the cap of pending approvals counts it for a
// hint that names nobody: an email address normalised, as a person's
// address is when it is looked up.
func hintKey(hint string) string {
	if email, err := sesame.NormalizeEmail(hint); err == nil && strings.Contains(hint, "@") {
		return email
	}
	return hint
}

// hintedUser is the active account login_hint names, by email address or
// user id, or the zero User for nobody.
func (p *Provider) hintedUser(ctx context.Context, hint string) sesame.User {
	var u sesame.User
	var err error
	if strings.Contains(hint, "@") {
		email, nerr := sesame.NormalizeEmail(hint)
		if nerr != nil {
			return sesame.User{}
		}
		u, err = p.cfg.Users.UserByEmail(ctx, email)
	} else {
		u, err = p.cfg.Users.UserByID(ctx, hint)
	}
	if err != nil || !u.Active() {
		return sesame.User{}
	}
	return u
}

// goodBindingMessage: 1 to 200 characters of valid UTF-8 without control
// or format characters, since the person reads it verbatim.
func goodBindingMessage(s string) bool {
	n := utf8.RuneCountInString(s)
	if n < 1 || n > MaxBindingMessage || !utf8.ValidString(s) || strings.TrimSpace(s) == "" {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

func knownScopes(in []string) []string {
	out := []string{}
	for _, s := range in {
		if slices.Contains(SupportedScopes, s) && !slices.Contains(out, s) && s != ScopeOfflineAccess {
			out = append(out, s)
		}
	}
	return out
}

// approvalPrefix separates approval challenges from every other use of
// SHA-256 in Sesame.
const approvalPrefix = "sesame approval v1\x00"

// approvalChallenge is the WebAuthn challenge of an approval ceremony: a
// fresh 16-byte nonce followed by SHA-256 over the prefix, the nonce, the
// hash of the auth_req_id and the exact binding message, so the signature
// covers the words the person saw (SECURITY rule 61) and no two
// ceremonies share a challenge.
func approvalChallenge(nonce []byte, r sesame.CIBARequest) []byte {
	h := sha256.New()
	h.Write([]byte(approvalPrefix))
	h.Write(nonce)
	h.Write(r.Hash) // fixed length: the message that follows is unambiguous
	h.Write([]byte(r.BindingMessage))
	return append(append([]byte{}, nonce...), h.Sum(nil)...)
}

// boundTo reports whether challenge was made by approvalChallenge for r.
func boundTo(r sesame.CIBARequest) func([]byte) bool {
	return func(challenge []byte) bool {
		return len(challenge) == 16+sha256.Size && hmac.Equal(challenge, approvalChallenge(challenge[:16], r))
	}
}

var errApprovalGone = sesame.Errorf(sesame.ENotFound, "This approval is no longer waiting: it was answered or has expired.")

// Approvals lists the person's pending approvals, oldest first.
func (p *Provider) Approvals(ctx context.Context, userID string) ([]sesame.CIBARequest, error) {
	return p.cfg.CIBA.PendingCIBARequests(ctx, userID, p.cfg.Now())
}

// pending returns the person's live pending request id.
func (p *Provider) pending(ctx context.Context, userID, id string) (sesame.CIBARequest, error) {
	if id == "" || len(id) > 64 {
		return sesame.CIBARequest{}, errApprovalGone
	}
	r, err := p.cfg.CIBA.CIBARequestOfUser(ctx, id, userID)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return r, errApprovalGone
	case err != nil:
		return r, err
	case r.Status == sesame.CIBAPending && !p.cfg.Now().Before(r.ExpiresAt):
		p.expire(ctx, r)
		return r, errApprovalGone
	case r.Status != sesame.CIBAPending:
		return r, errApprovalGone
	}
	return r, nil
}

// expire marks r, pending past its expiry, expired and records the event,
// unless another caller (the sweeper, a poll, the page) did so first: the
// conditional UPDATE lets one of them through, so the event is recorded
// once.
func (p *Provider) expire(ctx context.Context, r sesame.CIBARequest) {
	err := p.cfg.CIBA.ExpireCIBARequest(ctx, r.ID, p.cfg.Now())
	switch {
	case err == nil:
		p.record(ctx, sesame.AuditEvent{Event: EventCIBAExpired, Result: "success", UserID: r.UserID, Detail: "client " + r.ClientID + " request " + r.ID})
	case !errors.Is(err, sesame.ErrNotFound):
		p.cfg.Logger.Warn("expire approval", "request", r.ID, "err", err)
	}
}

// ExpireApprovals marks every pending request past its expiry expired and
// records each once; the sweeper calls it before deleting old requests.
func (p *Provider) ExpireApprovals(ctx context.Context) (int, error) {
	list, err := p.cfg.CIBA.ExpireCIBARequests(ctx, p.cfg.Now())
	for _, r := range list {
		p.record(ctx, sesame.AuditEvent{Event: EventCIBAExpired, Result: "success", UserID: r.UserID, Detail: "client " + r.ClientID + " request " + r.ID})
	}
	return len(list), err
}

// BeginApproval starts the passkey assertion that approves request id,
// limited to the person's own credentials.
func (p *Provider) BeginApproval(ctx context.Context, userID, id string) (string, json.RawMessage, error) {
	r, err := p.pending(ctx, userID, id)
	if err != nil {
		return "", nil, err
	}
	u, err := p.cfg.Users.UserByID(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	return p.cfg.Passkeys.BeginApproval(ctx, u, approvalChallenge(sesame.RandomBytes(16), r))
}

// Approve finishes the approval of request id: the assertion must verify
// against a challenge made for this request and this message, its
// ceremony and the credential's counter are spent, and the request is
// approved by one conditional UPDATE, so it is approved once.
func (p *Provider) Approve(ctx context.Context, userID, id, ceremonyID string, credential []byte) error {
	r, err := p.pending(ctx, userID, id)
	if err != nil {
		return err
	}
	return p.approve(ctx, r, ceremonyID, credential, "", func(amr []string, now time.Time) error {
		return p.cfg.CIBA.DecideCIBARequest(ctx, r.ID, userID, sesame.CIBAApproved, amr, now)
	})
}

// approve verifies the assertion that approves r and, if it holds, calls
// decide with how the person approved; via says where ("" for a session,
// "link" for the emailed link), for the audit trail.
func (p *Provider) approve(ctx context.Context, r sesame.CIBARequest, ceremonyID string, credential []byte, via string,
	decide func(amr []string, now time.Time) error) error {
	u, err := p.cfg.Users.UserByID(ctx, r.UserID)
	if err != nil {
		return err
	}
	detail := "client " + r.ClientID + " request " + r.ID
	if via != "" {
		detail += " via " + via
	}
	proof, err := p.cfg.Passkeys.FinishApproval(ctx, u, ceremonyID, boundTo(r), credential)
	if err != nil {
		p.record(ctx, sesame.AuditEvent{Event: EventCIBAApproved, Result: sesame.ErrorCode(err), UserID: r.UserID, Method: signin.MethodPasskey, Detail: detail})
		return err
	}
	now := p.cfg.Now()
	if err := p.cfg.SignIns.SignInTx(ctx, func(tx signin.Tx) error { return proof.RunSpends(ctx, tx, now) }); err != nil {
		return err
	}
	if _, ok := satisfiedACR(r.ACRValues, proof.AMR); !ok {
		return sesame.Errorf(sesame.EStepUpRequired, "This app asks for a device-bound passkey or security key (phrh); approve with one.")
	}
	if err := decide(proof.AMR, now); errors.Is(err, sesame.ErrNotFound) {
		return errApprovalGone
	} else if err != nil {
		return err
	}
	p.record(ctx, sesame.AuditEvent{Event: EventCIBAApproved, Result: "success", UserID: r.UserID, Method: signin.MethodPasskey, Detail: detail})
	return nil
}

// DenyApproval refuses request id; any signed-in session of the person may,
// a sign-in by email alone included.
func (p *Provider) DenyApproval(ctx context.Context, userID, id string) error {
	if id == "" || len(id) > 64 {
		return errApprovalGone
	}
	if _, err := p.pending(ctx, userID, id); err != nil {
		return err
	}
	err := p.cfg.CIBA.DecideCIBARequest(ctx, id, userID, sesame.CIBADenied, nil, p.cfg.Now())
	if errors.Is(err, sesame.ErrNotFound) {
		return errApprovalGone
	} else if err != nil {
		return err
	}
	p.record(ctx, sesame.AuditEvent{Event: EventCIBADenied, Result: "success", UserID: userID, Detail: "request " + id})
	return nil
}

// redeemCIBA answers the CIBA grant at the token endpoint (CIBA §10-11):
// only the client that asked, no faster than CIBAInterval, and the tokens
// once.
func (p *Provider) redeemCIBA(ctx context.Context, c sesame.OAuthClient, form url.Values) (TokenResponse, error) {
	raw := form.Get("auth_req_id")
	if raw == "" || len(raw) > 128 {
		return TokenResponse{}, invalidRequest("auth_req_id is required.")
	}
	if !c.CIBA {
		return TokenResponse{}, &Error{Code: "unauthorized_client", Description: "This client is not registered for approvals (--ciba).", Status: 400}
	}
	hash, now := hashCode(raw), p.cfg.Now()
	r, err := p.cfg.CIBA.CIBARequestByHash(ctx, hash)
	switch {
	case errors.Is(err, sesame.ErrNotFound) || (err == nil && r.ClientID != c.ID):
		return TokenResponse{}, invalidGrant("The auth_req_id is unknown.")
	case err != nil:
		return TokenResponse{}, err
	case r.RedeemedAt != nil:
		return TokenResponse{}, invalidGrant("The auth_req_id was redeemed already.")
	case !now.Before(r.ExpiresAt):
		if r.Status == sesame.CIBAPending {
			p.expire(ctx, r)
		}
		return TokenResponse{}, &Error{Code: "expired_token", Description: "The approval request has expired.", Status: 400}
	}
	if err := p.cfg.CIBA.PollCIBARequest(ctx, hash, c.ID, now.Add(-CIBAInterval), now); errors.Is(err, sesame.ErrNotFound) {
		return TokenResponse{}, &Error{Code: "slow_down", Description: "Poll at most every 5 seconds.", Status: 400}
	} else if err != nil {
		return TokenResponse{}, err
	}
	switch r.Status {
	case sesame.CIBADenied:
		return TokenResponse{}, &Error{Code: "access_denied", Description: "The person denied the request.", Status: 400}
	case sesame.CIBAPending:
		return TokenResponse{}, &Error{Code: "authorization_pending", Description: "The person has not answered yet.", Status: 400}
	}
	u, err := p.cfg.Users.UserByID(ctx, r.UserID)
	if errors.Is(err, sesame.ErrNotFound) || (err == nil && !u.Active()) {
		return TokenResponse{}, invalidGrant("The account that approved is gone or disabled.")
	} else if err != nil {
		return TokenResponse{}, err
	}
	if err := p.cfg.CIBA.RedeemCIBARequest(ctx, hash, c.ID, now); errors.Is(err, sesame.ErrNotFound) {
		return TokenResponse{}, invalidGrant("The auth_req_id was redeemed already.")
	} else if err != nil {
		return TokenResponse{}, err
	}
	acr, _ := satisfiedACR(r.ACRValues, r.AMR)
	g := sesame.OAuthGrant{ID: r.ID, ClientID: c.ID, UserID: r.UserID, Scopes: r.Scopes, AuthTime: *r.DecidedAt, AMR: r.AMR, ACR: acr}
	access, err := p.accessToken(ctx, g, now)
	if err != nil {
		return TokenResponse{}, err
	}
	id, err := p.idToken(ctx, c, g, u, access, false, now, map[string]any{"txn": raw, "binding_message": r.BindingMessage})
	if err != nil {
		return TokenResponse{}, err
	}
	p.record(ctx, sesame.AuditEvent{Event: EventCIBARedeemed, Result: "success", UserID: r.UserID, Detail: "client " + c.ID + " request " + r.ID})
	return TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(AccessTTL / time.Second), IDToken: id,
		Scope: strings.Join(r.Scopes, " ")}, nil
}
