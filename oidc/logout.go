package oidc

import (
	"context"
	"errors"
	"net/url"
	"slices"

	"github.com/sesame-auth/sesame"
)

// EndSession validates an RP-initiated logout request (GET
// /oauth2/end_session) and stores it for the sign-out page, returning its
// id. A post_logout_redirect_uri must be registered for the client named
// by client_id or by the id_token_hint's audience; anything wrong is a
// *PageError, never a redirect.
func (p *Provider) EndSession(ctx context.Context, q url.Values) (string, error) {
	for _, name := range []string{"id_token_hint", "post_logout_redirect_uri", "state", "client_id", "logout_hint", "ui_locales"} {
		if len(q[name]) > 1 {
			return "", &PageError{Description: "The parameter " + name + " is repeated."}
		}
		if len(q.Get(name)) > maxParam*4 {
			return "", &PageError{Description: "The parameter " + name + " is too long."}
		}
	}
	clientID := q.Get("client_id")
	if hint := q.Get("id_token_hint"); hint != "" {
		aud, _, err := p.verifyIDTokenHint(ctx, hint)
		if err != nil {
			return "", &PageError{Description: "The app sent an ID token Sesame did not issue."}
		}
		if clientID != "" && clientID != aud {
			return "", &PageError{Description: "client_id and id_token_hint name different apps."}
		}
		clientID = aud
	}
	l := sesame.OAuthLogout{ID: sesame.NewToken(), CreatedAt: p.cfg.Now()}
	l.ExpiresAt = l.CreatedAt.Add(RequestTTL)
	if clientID != "" {
		c, err := p.cfg.Store.OAuthClientByID(ctx, clientID)
		if errors.Is(err, sesame.ErrNotFound) {
			return "", &PageError{Description: "The app that sent you here is not registered with Sesame."}
		} else if err != nil {
			return "", err
		}
		l.ClientID = c.ID
		if uri := q.Get("post_logout_redirect_uri"); uri != "" {
			if !slices.Contains(c.PostLogoutRedirectURIs, uri) {
				return "", &PageError{Description: "The app asked to send you to an address it has not registered."}
			}
			l.RedirectURI, l.State = uri, q.Get("state")
		}
	} else if q.Get("post_logout_redirect_uri") != "" {
		return "", &PageError{Description: "post_logout_redirect_uri needs client_id or id_token_hint."}
	}
	if err := p.cfg.Store.InsertOAuthLogout(ctx, l); err != nil {
		return "", err
	}
	return l.ID, nil
}

// LogoutClient is the app a pending logout request came from.
type LogoutClient struct {
	ID   string
	Name string
}

var errLogoutUnknown = sesame.Errorf(sesame.ENotFound, "No such sign-out request, or it has expired.")

// Logout returns the app of a live logout request, nil when none was
// named.
func (p *Provider) Logout(ctx context.Context, id string) (*LogoutClient, error) {
	if id == "" || len(id) > 64 {
		return nil, errLogoutUnknown
	}
	l, err := p.cfg.Store.OAuthLogoutByID(ctx, id, p.cfg.Now())
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, errLogoutUnknown
	} else if err != nil || l.ClientID == "" {
		return nil, err
	}
	c, err := p.cfg.Store.OAuthClientByID(ctx, l.ClientID)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &LogoutClient{ID: c.ID, Name: c.Name}, nil
}

// CompleteLogout spends a logout request and returns where the browser
// goes: the registered post_logout_redirect_uri with state, or "" to stay
// on Sesame's "signed out" page.
func (p *Provider) CompleteLogout(ctx context.Context, id string) (string, error) {
	if id == "" || len(id) > 64 {
		return "", errLogoutUnknown
	}
	l, err := p.cfg.Store.ConsumeOAuthLogout(ctx, id, p.cfg.Now())
	if errors.Is(err, sesame.ErrNotFound) {
		return "", errLogoutUnknown
	} else if err != nil {
		return "", err
	}
	p.record(ctx, sesame.AuditEvent{Event: EventRPInitiatedLogout, Result: "success", Detail: "client " + l.ClientID})
	if l.RedirectURI == "" {
		return "", nil
	}
	v := url.Values{}
	if l.State != "" {
		v.Set("state", l.State)
	}
	if len(v) == 0 {
		return l.RedirectURI, nil
	}
	return addQuery(l.RedirectURI, v), nil
}
