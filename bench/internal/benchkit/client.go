package benchkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Client calls assistd's API with a key.
type Client struct {
	Base string // http://host:port
	Key  string
	HTTP *http.Client
}

// Header sets the key and the Assistants v2 header on req.
func (c *Client) Header(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+c.Key)
	req.Header.Set("OpenAI-Beta", "assistants=v2")
}

// Do sends one JSON request (no body when body is nil) and decodes the
// answer into out when out is non-nil. A status other than 200 is an error.
func (c *Client) Do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		return err
	}
	c.Header(req)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.Send(req, out)
}

// Send sends req as it is and decodes the answer into out when out is
// non-nil, or drains it. A status other than 200 is an error.
func (c *Client) Send(req *http.Request, out any) error {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
