package webauthn

// Reseal opens sign-in ticket id and seals it again for purpose, with
// userID in place of its own: what another kind of ticket made with the
// same key would look like.
func Reseal(s *Service, id, purpose, userID string) string {
	t, ok := s.open(purposeLogin, id)
	if !ok {
		panic("not a sign-in ticket")
	}
	t.userID = userID
	return s.seal(purpose, t)
}

// PurposeLogin is the purpose sign-in tickets are sealed for.
const PurposeLogin = purposeLogin

// Where a sealed ticket's parts are, in its decoded bytes: the nonce
// first, then the sealed kind, expiry, challenge, user id length and
// user id.
const (
	TicketNonce      = 24
	TicketUserOffset = 1 + 8 + challengeSize + 1
)
