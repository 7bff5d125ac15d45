package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame/limit"
)

// accountRoutes are the routes of recovery codes, authenticator apps and
// the account's life (API.md "Account lifecycle, recovery codes,
// authenticator apps").
func (s *Server) accountRoutes(api fiber.Router) {
	api.Post("/me/recovery-codes", s.requireAuth, s.requireLiveSession, s.requireRecentAuth, s.recoveryCodesCreate)
	api.Post("/mfa/recovery", s.limitIP(limit.MFACodePerIP), s.mfaRecovery)
	api.Post("/recovery/signin", s.limitIP(limit.RecoverySignInPerIP), s.recoverySignIn)

	api.Post("/me/totp/begin", s.requireAuth, s.requireLiveSession, s.requireRecentAuth, s.totpBegin)
	api.Post("/me/totp/finish", s.requireAuth, s.requireLiveSession, s.totpFinish)
	api.Delete("/me/totp", s.requireAuth, s.requireLiveSession, s.requireRecentAuth, s.totpRemove)
	api.Post("/mfa/totp", s.limitIP(limit.MFACodePerIP), s.mfaTOTP)

	api.Patch("/me", s.requireAuth, s.requireLiveSession, s.renameMe)
	api.Post("/me/email/start", s.requireAuth, s.requireLiveSession, s.requireRecentAuth, s.emailChangeStart)
	api.Post("/me/email/verify", s.requireAuth, s.requireLiveSession, s.emailChangeVerify)
	api.Delete("/me", s.requireAuth, s.requireLiveSession, s.requireRecentAuth, s.deleteMe)
}
