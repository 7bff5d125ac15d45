package server

import (
	"net"

	"github.com/valyala/fasthttp"
)

// closeIdleSilently makes a connection that times out before sending a
// single byte of a request close without an answer (SECURITY rule 58).
// Clients' pools open connections ahead of use; an unsolicited "400 The
// request took too long" on one would be read as the answer to the next
// request the client sends on it. fasthttp already closes idle keep-alive
// connections silently; this covers the first request. A request that
// times out half-read still gets its error answer.
func (s *Server) closeIdleSilently() {
	srv := s.app.Server()
	answer := srv.ErrorHandler
	srv.ErrorHandler = func(ctx *fasthttp.RequestCtx, err error) {
		// Nothing read: fasthttp hands over the bare network error; a
		// request cut off midway comes wrapped in a message.
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			_ = ctx.Conn().Close()
			return
		}
		answer(ctx, err)
	}
}
