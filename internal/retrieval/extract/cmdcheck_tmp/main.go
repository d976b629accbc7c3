package main

import (
	"context"
	"fmt"
	"os"

	"github.com/assistd/assistd/internal/retrieval/extract"
)

func main() {
	for _, f := range os.Args[1:] {
		b, _ := os.ReadFile(f)
		d, err := extract.Extract(context.Background(), f, b)
		if err != nil {
			fmt.Println(f, "ERR", err)
			continue
		}
		fmt.Printf("== %s title=%q kind=%s\n%s\n", f, d.Title, d.Kind, d.Text)
	}
}
