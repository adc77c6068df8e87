package readme

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
