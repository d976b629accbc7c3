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
	"HELLOworld McDonald's iPhone ÉCOLE ǅungla ǲ CamelCaseWord ALLCAPS'S don'T",
	"\u0301mark first, ー長音 カタカナー, ภาษาไทย, हिन्दी भाषा, 한국어",
	"paths a/b/c http://x.y/z?q=1 ../up// end/\n/",
	"ʰmodifier ʰʰA Aʰ aʰ ǅǅa",
}

func TestSplitMatchesTokenizer(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	texts := slices.Clone(samples)
	// Random mixes of the samples' characters find the cases in between.
	var runes []rune
	for _, s := range samples {
		runes = append(runes, []rune(s)...)
	}
	for range 3000 {
		var b strings.Builder
		for range 1 + r.IntN(40) {
			b.WriteRune(runes[r.IntN(len(runes))])
		}
		texts = append(texts, b.String())
	}
	texts = append(texts, prose(11, 300))
	for _, enc := range []tokenizer.Encoding{tokenizer.Cl100kBase, tokenizer.O200kBase} {
		t.Run(string(enc), func(t *testing.T) {
			codec, err := tokenizer.Get(enc)
			if err != nil {
				t.Fatal(err)
			}
			cache := newTokenizerCache(codec)
			if cache.split == nil {
				t.Fatal("no hand split for", enc)
			}
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
		})
	}
}

func TestSplitCoversText(t *testing.T) {
	f := func(s string) {
		if !utf8.ValidString(s) {
			return
		}
		for _, split := range []func(string, func(string)){splitCl100k, splitO200k} {
			var b strings.Builder
			split(s, func(p string) {
				if p == "" {
					t.Fatalf("empty piece in %q", s)
				}
				b.WriteString(p)
			})
			if b.String() != s {
				t.Fatalf("pieces of %q join to %q", s, b.String())
			}
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
	var codecs []tokenizer.Codec
	var caches []*tokenizerCache
	for _, enc := range []tokenizer.Encoding{tokenizer.Cl100kBase, tokenizer.O200kBase} {
		codec, err := tokenizer.Get(enc)
		if err != nil {
			f.Fatal(err)
		}
		codecs = append(codecs, codec)
		caches = append(caches, newTokenizerCache(codec))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		for i, codec := range codecs {
			_, want, err := codec.Encode(s)
			if err != nil || strings.Join(want, "") != s {
				// The module's pattern engine drops some characters (a lone
				// DEL); tiktoken keeps them, as the hand split does.
				continue
			}
			off, err := caches[i].offsets(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for j := 1; j < len(off); j++ {
				got = append(got, s[off[j-1]:off[j]])
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s %q:\n got %q\nwant %q", codec.GetName(), s, got, want)
			}
		}
	})
}
