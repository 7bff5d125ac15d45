package server

import (
	"github.com/sesame-auth/sesame"
)

func userOf(u sesame.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name}
}
