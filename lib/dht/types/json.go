package types

import "unicode/utf8"

// payloadJSON shows a blob as text when it is printable UTF-8, else as
// base64, so that a person debugging reads vCards and messages directly.
type payloadJSON struct {
	Text   *string `json:"payload,omitempty"`
	Base64 []byte  `json:"payload_base64,omitempty"`
	Size   int     `json:"payload_size"`
}

func blobJSON(b []byte) payloadJSON {
	j := payloadJSON{Size: len(b)}
	if len(b) == 0 {
		return j
	}
	if utf8.Valid(b) {
		s := string(b)
		j.Text = &s
	} else {
		j.Base64 = b
	}
	return j
}
