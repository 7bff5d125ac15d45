package mail

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sesame-auth/sesame"
)

// Draft is a message not yet rendered: which template, for whom, with what
// data. Requests build drafts; queue workers render them, so rendering
// costs the request nothing and a template bug fails one message, never
// the process (SECURITY rule 35).
type Draft struct {
	template string
	to       string
	data     any // SignInData, ApprovalData, mfaCodeData or noticeView
}

// To returns the recipient.
func (d Draft) To() string { return d.to }

// IsNotice reports whether the draft is a security notice (a passkey
// added, a new device, …) rather than a message the recipient asked for.
func (d Draft) IsNotice() bool { return strings.HasPrefix(d.template, "notice_") }

// Render executes the draft's templates.
func (d Draft) Render() (Message, error) {
	return render(d.template, d.to, d.data)
}

// storedDraft is a draft as JSON, before sealing.
type storedDraft struct {
	Template string          `json:"template"`
	To       string          `json:"to"`
	Data     json.RawMessage `json:"data"`
}

func (d Draft) encode() ([]byte, error) {
	data, err := json.Marshal(d.data)
	if err != nil {
		return nil, fmt.Errorf("mail: encode %s: %w", d.template, err)
	}
	return json.Marshal(storedDraft{Template: d.template, To: d.to, Data: data})
}

func decodeDraft(b []byte) (Draft, error) {
	var s storedDraft
	if err := json.Unmarshal(b, &s); err != nil {
		return Draft{}, fmt.Errorf("mail: decode draft: %w", err)
	}
	var data any
	var err error
	switch {
	case s.Template == "signin":
		data, err = decodeAs[SignInData](s.Data)
	case s.Template == "approval":
		data, err = decodeAs[ApprovalData](s.Data)
	case s.Template == "mfacode", s.Template == "emailchange":
		data, err = decodeAs[mfaCodeData](s.Data)
	case strings.HasPrefix(s.Template, "notice_"):
		data, err = decodeAs[noticeView](s.Data)
	default:
		return Draft{}, fmt.Errorf("mail: draft of unknown template %q", s.Template)
	}
	if err != nil {
		return Draft{}, fmt.Errorf("mail: decode %s data: %w", s.Template, err)
	}
	return Draft{template: s.Template, to: s.To, data: data}, nil
}

func decodeAs[T any](raw json.RawMessage) (any, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}

// sealer encrypts drafts for the outbox table with AES-256-GCM, binding
// each to its row id: a database dump shows no live link or code.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return sealer{}, fmt.Errorf("mail: seal key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealer{}, fmt.Errorf("mail: seal key: %w", err)
	}
	return sealer{aead}, nil
}

func (s sealer) seal(id string, plain []byte) []byte {
	nonce := sesame.RandomBytes(s.aead.NonceSize())
	return s.aead.Seal(nonce, nonce, plain, []byte(id))
}

func (s sealer) open(id string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("mail: sealed draft too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(id))
	if err != nil {
		return nil, errors.New("mail: sealed draft does not open (another root secret?)")
	}
	return plain, nil
}
