package totp

import (
	"fmt"
	"strings"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// quietZone is the blank margin around a QR code, in modules (ISO/IEC
// 18004 §6.3.8 asks for four).
const quietZone = 4

// QRSVG renders text as a QR code in SVG: one path of unit squares on a
// white background, scaled by the page. The encoding (and its error
// correction, level M) is github.com/yeqown/go-qrcode's; only the drawing
// is ours.
func QRSVG(text string) (string, error) {
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	w := &svgWriter{}
	if err := q.Save(w); err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	return w.svg, nil
}

// svgWriter is a qrcode.Writer that keeps the SVG of the matrix.
type svgWriter struct{ svg string }

func (w *svgWriter) Write(mat qrcode.Matrix) error {
	size := mat.Width() + 2*quietZone
	var path strings.Builder
	mat.Iterate(qrcode.IterDirection_ROW, func(x, y int, v qrcode.QRValue) {
		if v.IsSet() {
			fmt.Fprintf(&path, "M%d %dh1v1h-1z", x+quietZone, y+quietZone)
		}
	})
	w.svg = fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="QR code">`+
		`<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`, size, size, size, size, path.String())
	return nil
}

func (w *svgWriter) Close() error { return nil }
