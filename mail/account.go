package mail

// Notices about recovery codes, authenticator apps and the account itself.
const (
	NoticeRecoveryCodeUsed     NoticeKind = "recovery_code_used"     // a recovery code signed someone in
	NoticeRecoveryCodesCreated NoticeKind = "recovery_codes_created" // a new set replaced the old one
	NoticeTOTPAdded            NoticeKind = "totp_added"             // an authenticator app was set up
	NoticeTOTPRemoved          NoticeKind = "totp_removed"           //
	NoticeEmailChanged         NoticeKind = "email_changed"          // sent to the old address
	// NoticeEmailTaken goes to an address someone else tried to move their
	// account to: it belongs to another account, so nothing changes and
	// the person asking learns nothing.
	NoticeEmailTaken     NoticeKind = "email_taken"
	NoticeAccountDeleted NoticeKind = "account_deleted" // the last message to the address
)

var accountNoticeKinds = []NoticeKind{
	NoticeRecoveryCodeUsed, NoticeRecoveryCodesCreated, NoticeTOTPAdded, NoticeTOTPRemoved,
	NoticeEmailChanged, NoticeEmailTaken, NoticeAccountDeleted,
}

// EmailChangeCode is the email that carries the code confirming a new
// address for an account.
func EmailChangeCode(to, code string, minutes int) Draft {
	return Draft{template: "emailchange", to: to, data: mfaCodeData{code, minutes}}
}
