// Package readme holds the test that keeps README.md's Go snippets in step
// with the compiled, tested Example functions they are taken from.
package readme
