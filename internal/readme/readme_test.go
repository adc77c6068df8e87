package readme

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

var snippetRE = regexp.MustCompile("(?s)<!-- snippet: (\\S+) -->\\s*```go\n(.*?)```")

// normalize drops indentation, a leading "//" (for snippets taken from doc
// comments) and blank lines, so a snippet matches its source however deeply
// the source indents it.
func normalize(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "//\t") || line == "//" {
			line = strings.TrimSpace(strings.TrimPrefix(line, "//"))
		}
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

// contains reports whether want appears as consecutive lines of have.
func contains(have, want []string) bool {
	for i := 0; i+len(want) <= len(have); i++ {
		match := true
		for j := range want {
			if have[i+j] != want[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func TestREADMESnippetsComeFromCompiledExamples(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	found := snippetRE.FindAllStringSubmatch(string(readme), -1)
	if len(found) < 6 {
		t.Fatalf("found %d marked snippets in README.md, want at least 6", len(found))
	}
	for _, m := range found {
		path, snippet := m[1], m[2]
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
		if err != nil {
			t.Errorf("snippet source %s: %v", path, err)
			continue
		}
		if !contains(normalize(string(src)), normalize(snippet)) {
			t.Errorf("README.md's snippet from %s no longer matches that file; copy it again:\n%s", path, snippet)
		}
	}
	if n := strings.Count(string(readme), "```go"); n != len(found) {
		t.Errorf("README.md has %d Go blocks but %d are marked with their source", n, len(found))
	}
}

// TestNoCitationsOutsideTheRepository is the regression test of issue 11
// item 11: comments cited a protocol notes file by section, and "the
// seed", documents that are not in the repository. The repository must stand on its own: cite
// WeChat's documentation by URL, or say what is needed in package docs.
func TestNoCitationsOutsideTheRepository(t *testing.T) {
	root := filepath.Join("..", "..")
	// Built from parts, so that this line does not match itself.
	outside := regexp.MustCompile(`protocol` + `\.md|design` + `\.md|` + "\u00a7" + `|\bthe ` + `seed\b|seed` + `'s|shared` + `/docs`)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".md") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if outside.MatchString(line) {
				t.Errorf("%s:%d cites a document outside the repository: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// anchor is GitHub's fragment for a heading: lower case, spaces to '-',
// punctuation other than '-' and '_' dropped.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

var (
	headingRE = regexp.MustCompile(`(?m)^## (.+)$`)
	tocRE     = regexp.MustCompile(`(?m)^- \[(.+)\]\(#([^)]+)\)$`)
)

// The table of contents lists every section, in order: a new "## " section
// needs its line under "## Contents".
func TestREADMEContentsListsEverySection(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "## Contents\n")
	if start < 0 {
		t.Fatal("README.md has no ## Contents section")
	}
	end := strings.Index(text[start+1:], "\n## ")
	if end < 0 {
		t.Fatal("README.md's ## Contents section is the last")
	}
	var toc, want []string
	for _, m := range tocRE.FindAllStringSubmatch(text[start:start+1+end], -1) {
		if m[2] != anchor(m[1]) {
			t.Errorf("contents line %q links to #%s, want #%s", m[0], m[2], anchor(m[1]))
		}
		toc = append(toc, m[1])
	}
	for _, m := range headingRE.FindAllStringSubmatch(text, -1) {
		if m[1] != "Contents" {
			want = append(want, m[1])
		}
	}
	if strings.Join(toc, "\n") != strings.Join(want, "\n") {
		var lines []string
		for _, h := range want {
			lines = append(lines, "- ["+h+"](#"+anchor(h)+")")
		}
		t.Errorf("README.md's contents list\n  %s\nbut its sections are\n  %s\nso the list should read:\n%s",
			strings.Join(toc, "\n  "), strings.Join(want, "\n  "), strings.Join(lines, "\n"))
	}
}
