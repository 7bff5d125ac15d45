// Package frontend holds Sesame's pages, styles and JavaScript modules,
// embedded in the binary. The pages speak only the public JSON API.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed static pages
var files embed.FS

// Static is the tree served under /static/.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// Page returns the HTML of the page name ("signin", "link", "account").
func Page(name string) ([]byte, error) {
	return files.ReadFile("pages/" + name + ".html")
}
