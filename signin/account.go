package signin

// Methods of the ways in built on recovery codes and authenticator apps.
const (
	MethodPasswordTOTP     = "password_totp"          // a password, then an authenticator-app code
	MethodPasswordRecovery = "password_recovery_code" // a password, then a recovery code
	MethodRecoveryCode     = "recovery_code"          // an address and a recovery code
)
