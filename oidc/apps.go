package oidc

import (
	"context"
	"errors"

	"github.com/sesame-auth/sesame"
)

// Apps lists the clients userID has approved (/api/me/apps).
func (p *Provider) Apps(ctx context.Context, userID string) ([]sesame.OAuthConsent, error) {
	return p.cfg.Store.OAuthConsents(ctx, userID)
}

// WithdrawApp removes userID's consent for clientID and revokes that
// client's tokens for the user (SECURITY rule 48).
func (p *Provider) WithdrawApp(ctx context.Context, userID, clientID string) error {
	if err := p.cfg.Store.WithdrawOAuthConsent(ctx, userID, clientID, p.cfg.Now()); errors.Is(err, sesame.ErrNotFound) {
		return sesame.Errorf(sesame.ENotFound, "You have not approved this app.")
	} else if err != nil {
		return err
	}
	p.record(ctx, sesame.AuditEvent{Event: EventConsentWithdrawn, Result: "success", UserID: userID, Detail: "client " + clientID})
	return nil
}
