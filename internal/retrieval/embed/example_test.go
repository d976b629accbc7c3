package embed_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/assistd/assistd/internal/modelstub"
	"github.com/assistd/assistd/internal/retrieval/embed"
)

func ExampleClient_Embed() {
	stub := modelstub.New(nil, modelstub.Options{})
	srv := httptest.NewServer(stub)
	defer srv.Close()

	c := embed.New(embed.Config{BaseURL: srv.URL + "/v1", Model: "text-embedding-3-small", Dimensions: 64, BatchSize: 2})
	vecs, err := c.Embed(context.Background(), []string{"red apples", "green apples", "tax law"})
	if err != nil {
		panic(err)
	}
	dot := func(a, b []float32) (s float32) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	fmt.Println(len(vecs), len(vecs[0]), len(stub.Requests()))
	fmt.Println(dot(vecs[0], vecs[1]) > dot(vecs[0], vecs[2]))
	// Output:
	// 3 64 2
	// true
}
