package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
)

// The validator itself must reject wrong shapes, or every other test proves
// nothing.
func TestSpecValidatorRejectsWrongShapes(t *testing.T) {
	t.Parallel()
	doc, router := loadSpec(t)
	v := &specValidator{t: t, doc: doc, router: router}
	req, _ := http.NewRequest("GET", "http://x/v1/assistants/asst_1", nil)
	hdr := http.Header{"Content-Type": {"application/json"}}
	good := `{"id":"asst_1","object":"assistant","created_at":1,"name":null,"description":null,"model":"m","instructions":null,"tools":[],"metadata":{}}`
	if err := v.validate(req, 200, hdr, []byte(good)); err != nil {
		t.Fatalf("a correct assistant was rejected: %v", err)
	}
	for _, bad := range []string{
		strings.Replace(good, `"object":"assistant"`, `"object":"assistent"`, 1),
		strings.Replace(good, `"created_at":1`, `"created_at":"1"`, 1),
		strings.Replace(good, `"model":"m",`, ``, 1),
	} {
		if err := v.validate(req, 200, hdr, []byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	for _, bad := range []string{
		`{"error":{"message":"x","type":"y"}}`,
		`{"error":{"message":"x","type":"y","param":null,"code":5}}`,
		`{"message":"x"}`,
		`{"error":{"message":"x","type":"y","param":null,"code":null,"extra":1}}`,
	} {
		if err := v.validate(req, 404, hdr, []byte(bad)); err == nil {
			t.Errorf("accepted error body %s", bad)
		}
	}
	if err := v.validate(req, 404, hdr, []byte(`{"error":{"message":"x","type":"y","param":null,"code":null}}`)); err != nil {
		t.Errorf("rejected a correct error: %v", err)
	}
	// An empty list may carry null ids; a non-empty one may not.
	lreq, _ := http.NewRequest("GET", "http://x/v1/assistants", nil)
	if err := v.validate(lreq, 200, hdr, []byte(`{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}`)); err != nil {
		t.Errorf("rejected an empty list: %v", err)
	}
	if err := v.validate(lreq, 200, hdr, []byte(`{"object":"list","data":[`+good+`],"first_id":null,"last_id":null,"has_more":false}`)); err == nil {
		t.Errorf("accepted a non-empty list with null ids")
	}
}

func TestFilesUploadDownloadListDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	data := []byte("hello, assistd\x00\x01\x02 binary \xff bytes\n")
	f := h.upload(h.A, "notes.txt", openai.FilePurposeAssistants, data)
	if !strings.HasPrefix(f.ID, "file-") || f.Object != "file" || f.Bytes != int64(len(data)) ||
		f.Filename != "notes.txt" || f.Purpose != "assistants" || f.CreatedAt == 0 {
		t.Fatalf("unexpected file object: %s", f.RawJSON())
	}
	if f.JSON.ExpiresAt.Valid() {
		t.Errorf("expires_at set without expires_after: %s", f.RawJSON())
	}

	got, err := h.A.Files.Get(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RawJSON() != f.RawJSON() {
		t.Errorf("get differs from create:\n%s\n%s", got.RawJSON(), f.RawJSON())
	}

	resp, err := h.A.Files.Content(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, data) {
		t.Errorf("downloaded %q, uploaded %q", body, data)
	}

	// A filename with a path keeps only its base name.
	r := h.uploadRaw(h.keyA, multipartField{Name: "purpose", Data: []byte("assistants")},
		multipartField{Name: "file", Filename: "../../etc/passwd", Data: []byte("x")})
	if r.Status != 200 || r.object(t)["filename"] != "passwd" {
		t.Errorf("upload with a path: %s", r)
	}
	fileIDOf := func(r *response) string { return r.object(t)["id"].(string) }
	pathFile := fileIDOf(r)

	// Parts in any order; a bigger file.
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	r = h.uploadRaw(h.keyA, multipartField{Name: "file", Filename: "big.bin", Data: big},
		multipartField{Name: "purpose", Data: []byte("user_data")})
	if r.Status != 200 {
		t.Fatalf("big upload: %s", r)
	}
	bigID := fileIDOf(r)
	dl := h.mustDo(200, "GET", "/v1/files/"+bigID+"/content", h.keyA, nil)
	if !bytes.Equal(dl.Body, big) {
		t.Errorf("big download differs (%d vs %d bytes)", len(dl.Body), len(big))
	}

	vision := h.upload(h.A, "cat.png", openai.FilePurposeVision, []byte("\x89PNG fake"))

	// List: all, by purpose, pagination.
	page, err := h.A.Files.List(ctx, openai.FileListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 4 || page.HasMore {
		t.Fatalf("list: %d files, has_more %v", len(page.Data), page.HasMore)
	}
	if page.Data[0].ID != vision.ID || page.Data[3].ID != f.ID {
		t.Errorf("default order is not newest first: %s", page.RawJSON())
	}
	page, err = h.A.Files.List(ctx, openai.FileListParams{Purpose: param.NewOpt("vision")})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != vision.ID {
		t.Errorf("purpose=vision: %s", page.RawJSON())
	}
	page, err = h.A.Files.List(ctx, openai.FileListParams{Purpose: param.NewOpt("batch")})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 0 || page.HasMore {
		t.Errorf("purpose=batch: %s", page.RawJSON())
	}
	page, err = h.A.Files.List(ctx, openai.FileListParams{Limit: param.NewOpt[int64](2), Order: openai.FileListParamsOrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || !page.HasMore || page.Data[0].ID != f.ID || page.Data[1].ID != pathFile {
		t.Errorf("asc limit 2: %s", page.RawJSON())
	}
	var all []string
	iter := h.A.Files.ListAutoPaging(ctx, openai.FileListParams{Limit: param.NewOpt[int64](1), Order: openai.FileListParamsOrderAsc})
	for iter.Next() {
		all = append(all, iter.Current().ID)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{f.ID, pathFile, bigID, vision.ID}; strings.Join(all, ",") != strings.Join(want, ",") {
		t.Errorf("auto-paging: %v, want %v", all, want)
	}

	// Delete, then 404 everywhere.
	del, err := h.A.Files.Delete(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if del.ID != f.ID || !del.Deleted || del.Object != "file" {
		t.Errorf("delete: %s", del.RawJSON())
	}
	for _, p := range []string{"/v1/files/" + f.ID, "/v1/files/" + f.ID + "/content"} {
		r := h.do("GET", p, h.keyA, nil)
		if r.Status != 404 || r.apiError(t).Error.Message != "No file found with id '"+f.ID+"'." {
			t.Errorf("GET %s after delete: %s", p, r)
		}
	}
	if r := h.do("DELETE", "/v1/files/"+f.ID, h.keyA, nil); r.Status != 404 {
		t.Errorf("second delete: %s", r)
	}
	if n := h.count(h.keyA, "/v1/files"); n != 3 {
		t.Errorf("%d files after delete, want 3", n)
	}
}

func TestFilesExpiresAfter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f, err := h.A.Files.New(context.Background(), openai.FileNewParams{
		File:         openai.File(strings.NewReader("x"), "x.txt", "text/plain"),
		Purpose:      openai.FilePurposeAssistants,
		ExpiresAfter: openai.FileNewParamsExpiresAfter{Seconds: 7200},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.ExpiresAt != f.CreatedAt+7200 {
		t.Errorf("expires_at %d, want created_at+7200 = %d", f.ExpiresAt, f.CreatedAt+7200)
	}
	got := h.mustDo(200, "GET", "/v1/files/"+f.ID, h.keyA, nil).object(t)
	if got["expires_at"] != float64(f.CreatedAt+7200) {
		t.Errorf("GET expires_at = %v", got["expires_at"])
	}
}

// Uploads that fail leave neither a row nor bytes behind.
func TestFilesUploadTooLarge(t *testing.T) {
	t.Parallel()
	const max = 4096
	h := newHarness(t, withMaxUpload(max))
	blobDir := filepath.Join(h.dir, "blobs")

	// Exactly the limit is fine.
	r := h.uploadRaw(h.keyA, multipartField{Name: "purpose", Data: []byte("assistants")},
		multipartField{Name: "file", Filename: "ok.bin", Data: bytes.Repeat([]byte("a"), max)})
	if r.Status != 200 {
		t.Fatalf("upload of exactly MaxUploadBytes: %s", r)
	}
	before := countFiles(t, blobDir)

	for _, size := range []int{max + 1, 3 << 20} { // over the file limit; over the whole body limit
		r := h.uploadRaw(h.keyA, multipartField{Name: "purpose", Data: []byte("assistants")},
			multipartField{Name: "file", Filename: "big.bin", Data: bytes.Repeat([]byte("a"), size)})
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("upload of %d bytes: %s, want 413", size, r)
			continue
		}
		r.apiError(t)
	}
	if n := h.count(h.keyA, "/v1/files"); n != 1 {
		t.Errorf("%d files after refused uploads, want 1", n)
	}
	if after := countFiles(t, blobDir); after != before {
		t.Errorf("blob dir holds %d files after refused uploads, %d before", after, before)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// TestFileContentMissingBytes: a file whose bytes are gone from the blob
// store answers 404 with the OpenAI error object, not a 500.
func TestFileContentMissingBytes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.mustUpload(h.keyA, "assistants", "gone.txt", []byte("bytes")).object(t)["id"].(string)
	// The only upload of this harness is the only blob on disk.
	matches, err := filepath.Glob(filepath.Join(h.dir, "blobs", "*", "*"))
	if err != nil || len(matches) != 1 {
		t.Fatalf("blobs: %v %v", matches, err)
	}
	if err := os.Remove(matches[0]); err != nil {
		t.Fatal(err)
	}
	r := h.do("GET", "/v1/files/"+id+"/content", h.keyA, nil)
	if r.Status != 404 || !strings.Contains(r.apiError(t).Error.Message, id) {
		t.Errorf("content of a file without bytes: %s", r)
	}
}
