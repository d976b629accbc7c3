package chunk_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/assistd/assistd/internal/retrieval/chunk"
)

func ExampleChunker_Chunk() {
	c, err := chunk.New(chunk.Strategy{MaxChunkSizeTokens: 100, ChunkOverlapTokens: 20}, "cl100k_base")
	if err != nil {
		panic(err)
	}
	text := strings.Repeat("Vector stores keep the chunks of every file. ", 40)
	chunks, err := c.Chunk(context.Background(), text)
	if err != nil {
		panic(err)
	}
	// Windows of at most 100 tokens, cut after a sentence, each starting
	// about 20 tokens before the previous one ended.
	for _, ch := range chunks {
		fmt.Println(ch.Index, ch.Tokens, text[ch.Start:ch.End] == ch.Text)
	}
	// Output:
	// 0 99 true
	// 1 92 true
	// 2 92 true
	// 3 92 true
	// 4 65 true
}
