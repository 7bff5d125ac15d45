package oidc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"github.com/sesame-auth/sesame"
)

// An authorization request belongs to the browser the app sent to
// /oauth2/authorize: that browser gets a cookie holding the request's
// binder, HMAC-SHA-256(binder key, id), and the calls that read, accept or
// deny the request must carry it. Someone who learns a request id (from a
// link passed on, a screenshot, a log) cannot complete it in their own
// browser, nor send it to another person's signed-in browser to complete
// there. Nothing is stored: the binder is recomputed from the id.

// Binder returns the value of the cookie that binds request id to the
// browser that started it.
func (p *Provider) Binder(id string) string {
	m := hmac.New(sha256.New, p.cfg.BinderKey)
	m.Write([]byte("oauth-request\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var errOtherBrowser = sesame.Errorf(sesame.EOtherBrowser,
	"This sign-in was started in another browser. Go back to the app in this browser and sign in again.")

// checkBinder refuses a call about request id that does not carry its
// binder.
func (p *Provider) checkBinder(id, binder string) error {
	if !hmac.Equal([]byte(binder), []byte(p.Binder(id))) {
		return errOtherBrowser
	}
	return nil
}
