package mail

// ApprovalData fills the approval email (API.md "Approvals"): an app asks
// the person to approve one exact message.
type ApprovalData struct {
	To string
	// App is the name the app was registered with.
	App string
	// Message is the binding_message, exactly as the app sent it; the
	// templates escape it like any other text.
	Message string
	// Link is <public URL>/approve#t=<token>, the token in the fragment so
	// that it never reaches a server log (SECURITY rules 14 and 15).
	Link             string
	ExpiresInMinutes int
	// Language is the mail's language (see Language); "" is English.
	Language string `json:",omitempty"`
}

func (d ApprovalData) language() string { return d.Language }

// Approval is the email that asks the person to approve an app's request.
func Approval(data ApprovalData) Draft {
	return Draft{template: "approval", to: data.To, data: data}
}
