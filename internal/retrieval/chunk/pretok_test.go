package chunk

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tiktoken-go/tokenizer"
)

// samples are texts that exercise every alternative of the cl100k_base
// pattern and the places where they compete.
var samples = []string{
	"Hello, world! It's a test: don't we'LL see? I'M sure they'RE fine, you'Ve 'd 's",
	"Numbers 1 12 123 1234 12345 and 3.14159, -42, ½ ² ٣٤٥ mixed a1b2c3",
	"  leading and   inner   spaces  \t tabs\tand\n\nnewlines\r\n\r\nCRLF  \n  \n trailing   ",
	"Punctuation!!! ...and ??? (parens) [brackets] {braces} \"quotes\" --- ''' ``` //comments \n",
	"unicode: naïve café Zürich – em—dash “quotes” ‘single’ «guillemets» 日本語のテキスト 한국어 العربية עברית",
	"emoji 🙂👍🏽🚀 and ZWJ 👨‍👩‍👧 and flags 🇫🇷 ☃ ✓",
	"code: func main() {\n\tfmt.Println(\"hi\")\n}\n\nif x := f(); x != nil { return x }\n",
	"odd spaces:\u00a0nbsp\u2003em\u3000ideographic\u2028line\u2029para\u0085nel\v\f end",
	"'",
	" ",
	"\n",
	"a",
	" 1",
	"\t\t",
	"x  ",
	"  !",
	" !\n\n",
	"'sam's 'llama",
	"combining e\u0301 and a\u0308 marks",
}

func TestSplitMatchesTokenizer(t *testing.T) {
	codec, err := tokenizer.Get(tokenizer.Cl100kBase)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	texts := slices.Clone(samples)
	// Random mixes of the samples' characters find the cases in between.
	var runes []rune
	for _, s := range samples {
		runes = append(runes, []rune(s)...)
	}
	for range 2000 {
		var b strings.Builder
		for range 1 + r.IntN(40) {
			b.WriteRune(runes[r.IntN(len(runes))])
		}
		texts = append(texts, b.String())
	}
	texts = append(texts, prose(11, 300))
	cache := newTokenizerCache(codec)
	for _, text := range texts {
		_, want, err := codec.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		off, err := cache.offsets(text, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := 1; i < len(off); i++ {
			got = append(got, text[off[i-1]:off[i]])
		}
		if !slices.Equal(got, want) {
			t.Fatalf("text %q:\n got %q\nwant %q", text, got, want)
		}
		if n, _ := cache.count(text); n != len(want) {
			t.Fatalf("count(%q) = %d, want %d", text, n, len(want))
		}
	}
}

func TestSplitCoversText(t *testing.T) {
	f := func(s string) {
		if !utf8.ValidString(s) {
			return
		}
		var b strings.Builder
		splitCl100k(s, func(p string) {
			if p == "" {
				t.Fatalf("empty piece in %q", s)
			}
			b.WriteString(p)
		})
		if b.String() != s {
			t.Fatalf("pieces of %q join to %q", s, b.String())
		}
	}
	for _, s := range samples {
		f(s)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	codec, err := tokenizer.Get(tokenizer.Cl100kBase)
	if err != nil {
		f.Fatal(err)
	}
	cache := newTokenizerCache(codec)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		_, want, err := codec.Encode(s)
		if err != nil || strings.Join(want, "") != s {
			// The module's pattern engine drops some characters (a lone
			// DEL); tiktoken keeps them, as the hand split does.
			return
		}
		off, err := cache.offsets(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(off)-1 != len(want) {
			t.Fatalf("%q: %d tokens, the tokenizer gives %d", s, len(off)-1, len(want))
		}
	})
}
