package schema

// IsUploadPurpose reports whether a file may be uploaded with purpose p.
func IsUploadPurpose(p string) bool {
	switch p {
	case "assistants", "assistants_output", "vision", "batch", "user_data", "fine-tune":
		return true
	}
	return false
}

// File is the "file" object.
type File struct {
	ID            string  `json:"id"`
	Object        string  `json:"object"`
	Bytes         int64   `json:"bytes"`
	CreatedAt     int64   `json:"created_at"`
	ExpiresAt     *int64  `json:"expires_at,omitempty"`
	Filename      string  `json:"filename"`
	Purpose       string  `json:"purpose"`
	Status        string  `json:"status"`
	StatusDetails *string `json:"status_details,omitempty"`
}

// FileExpiresAfter is the optional expires_after of an upload.
type FileExpiresAfter struct {
	Anchor  string `json:"anchor"`
	Seconds int64  `json:"seconds"`
}

// Validate checks the spec's anchor and range (1 hour to 30 days).
func (e FileExpiresAfter) Validate() error {
	if e.Anchor != "created_at" {
		return Invalid("expires_after[anchor]", "Invalid 'expires_after.anchor': expected 'created_at'.")
	}
	if e.Seconds < 3600 || e.Seconds > 2592000 {
		return Invalid("expires_after[seconds]", "Invalid 'expires_after.seconds': expected an integer between 3600 and 2592000.")
	}
	return nil
}
