package extract_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/assistd/assistd/internal/retrieval/extract"
)

func ExampleExtract() {
	doc, err := extract.Extract(context.Background(), "guide.html",
		[]byte(`<html><head><title>Guide</title><script>x()</script></head>
<body><nav>Home | About</nav><h1>Setup</h1><p>Install the   package.</p></body></html>`))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s (%s)\n%s\n", doc.Title, doc.Kind, doc.Text)

	_, err = extract.Extract(context.Background(), "photo.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"))
	fmt.Println(errors.Is(err, extract.ErrUnsupported), extract.Code(err))
	// Output:
	// Guide (html)
	// Setup
	//
	// Install the package.
	// true unsupported_file
}
