package audit

// Events of recovery codes, authenticator apps and the account's life.
const (
	RecoveryCodesCreated = "recovery_codes_created"
	RecoveryCodeUsed     = "recovery_code_used"
	TOTPAdded            = "totp_added"
	TOTPRemoved          = "totp_removed"
	NameChanged          = "name_changed"
	EmailChangeStarted   = "email_change_started"
	EmailChanged         = "email_changed"
	AccountDeleted       = "account_deleted"
	AccountDisabled      = "account_disabled"
	AccountEnabled       = "account_enabled"
)
