package server

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/oidc"
)

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := s.cfg.DB.Ping(ctx); err != nil {
		s.cfg.Logger.Warn("not ready", "err", err)
		return &sesame.Error{Code: sesame.EUnavailable, Message: "The database does not answer.", RetryAfter: 5 * time.Second}
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

func (s *Server) jwks(c *fiber.Ctx) error {
	body, err := s.cfg.Keys.JWKS(c.UserContext())
	if err != nil {
		return err
	}
	// Verifiers may cache the set briefly; a rotation keeps the old key
	// published for longer than this.
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	c.Set(fiber.HeaderContentType, "application/jwk-set+json")
	return c.Send(body)
}

func (s *Server) openIDConfiguration(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	base := s.cfg.PublicURL
	doc := fiber.Map{
		"issuer":                                base,
		"jwks_uri":                              base + "/.well-known/jwks.json",
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "jti", "sid", "auth_time", "amr"},
	}
	if s.cfg.OIDC != nil {
		provider := fiber.Map{
			"authorization_endpoint":                         base + "/oauth2/authorize",
			"token_endpoint":                                 base + "/oauth2/token",
			"userinfo_endpoint":                              base + "/oauth2/userinfo",
			"end_session_endpoint":                           base + "/oauth2/end_session",
			"revocation_endpoint":                            base + "/oauth2/revoke",
			"introspection_endpoint":                         base + "/oauth2/introspect",
			"response_types_supported":                       []string{"code"},
			"response_modes_supported":                       []string{"query"},
			"grant_types_supported":                          []string{"authorization_code", "refresh_token", oidc.GrantCIBA},
			"backchannel_authentication_endpoint":            base + "/oauth2/bc-authorize",
			"backchannel_token_delivery_modes_supported":     []string{"poll"},
			"backchannel_user_code_parameter_supported":      false,
			"subject_types_supported":                        []string{"public"},
			"code_challenge_methods_supported":               []string{"S256"},
			"scopes_supported":                               oidc.SupportedScopes,
			"id_token_signing_alg_values_supported":          []string{"RS256", "ES256"},
			"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
			"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post", "none"},
			"introspection_endpoint_auth_methods_supported":  []string{"client_secret_basic", "client_secret_post"},
			"acr_values_supported":                           []string{oidc.ACRPhishingResistant, oidc.ACRPhishingResistantHardware},
			"authorization_response_iss_parameter_supported": true,
			"backchannel_logout_supported":                   true,
			"backchannel_logout_session_supported":           true,
			"request_parameter_supported":                    false,
			"request_uri_parameter_supported":                false,
			"claims_parameter_supported":                     false,
			"prompt_values_supported":                        []string{"none", "login", "consent", "select_account"},
			"claims_supported": []string{"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "amr", "acr",
				"sid", "at_hash", "email", "email_verified", "name", "txn", "binding_message"},
		}
		for k, v := range provider {
			doc[k] = v
		}
	}
	return c.JSON(doc)
}
