package codec

import (
	"strings"
	"testing"
)

func TestSignatureVectors(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{"V1 URL check", []string{"AAAAA", "1714036504", "1514711492"}, "f464b24fc39322e44b38aa78f5edd27bd1441696"},
		{"V2 plaintext POST", []string{"AAAAA", "1714037059", "486452656"}, "899cf89e464efb63f54ddac96b0a0a235f53aa78"},
		{"V3 query signature", []string{"AAAAA", "1714112445", "415670741"}, "6c5c811b55cc85e0e1b54100749188c20beb3f5d"},
		{"V3 msg_signature", []string{"AAAAA", "1714112445", "415670741", encV3}, "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"},
		{"V4 reply MsgSignature", []string{"AAAAA", "1713424427", "415670741", encV4}, "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1"},
		// The order of the arguments does not matter: they are sorted.
		{"V1 shuffled", []string{"1514711492", "AAAAA", "1714036504"}, "f464b24fc39322e44b38aa78f5edd27bd1441696"},
		// sha1("") and sha1("abc"), for the edge of no parts and for
		// more than four parts (sorted to "a", "b", "c", "", "").
		{"none", nil, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"six parts", []string{"c", "", "b", "a", "", ""}, "a9993e364706816aba3e25717850c26c9cd0d89d"},
	}
	for _, tt := range tests {
		if got := Signature(tt.parts...); got != tt.want {
			t.Errorf("%s: Signature = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestSignatureLongParts(t *testing.T) {
	// Long parts (an Encrypt field runs to kilobytes) sort and hash alike.
	long := strings.Repeat("x", 5000)
	want := Signature(long, "a") // sorted: "a" then the x's
	if got := Signature("a" + long); got != want {
		t.Errorf("Signature of a long part = %s, want %s", got, want)
	}
	if !VerifyMsgSignature(long, "", "", "a", Signature(long, "a")) {
		t.Error("VerifyMsgSignature rejects a long Encrypt")
	}
}

func TestVerifySignature(t *testing.T) {
	const good = "f464b24fc39322e44b38aa78f5edd27bd1441696"
	tests := []struct {
		sig  string
		want bool
	}{
		{good, true},
		{strings.ToUpper(good), false},
		{good[:39], false},
		{good + "0", false},
		{"", false},
		{"0" + good[1:], false},
		{good[:39] + "7", false},
	}
	for _, tt := range tests {
		if got := VerifySignature("AAAAA", "1714036504", "1514711492", tt.sig); got != tt.want {
			t.Errorf("VerifySignature(%q) = %v, want %v", tt.sig, got, tt.want)
		}
	}
	if VerifySignature("BBBBB", "1714036504", "1514711492", good) {
		t.Error("VerifySignature accepts the signature under another token")
	}
}

func TestVerifyMsgSignature(t *testing.T) {
	const good = "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
	if !VerifyMsgSignature("AAAAA", "1714112445", "415670741", encV3, good) {
		t.Fatal("VerifyMsgSignature rejects V3")
	}
	tampered := "A" + encV3[1:]
	if VerifyMsgSignature("AAAAA", "1714112445", "415670741", tampered, good) {
		t.Error("VerifyMsgSignature accepts a tampered Encrypt")
	}
	if VerifyMsgSignature("AAAAA", "1714112446", "415670741", encV3, good) {
		t.Error("VerifyMsgSignature accepts another timestamp")
	}
	// The query signature is not the msg_signature.
	if VerifyMsgSignature("AAAAA", "1714112445", "415670741", encV3, "6c5c811b55cc85e0e1b54100749188c20beb3f5d") {
		t.Error("VerifyMsgSignature accepts the query signature")
	}
}

func TestVerifyDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates; this test runs without -race")
	}
	long := strings.Repeat(encV3, 40)
	longSig := Signature("AAAAA", "1", "2", long)
	allocs := testing.AllocsPerRun(100, func() {
		VerifyMsgSignature("AAAAA", "1714112445", "415670741", encV3, "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3")
		VerifySignature("AAAAA", "1714036504", "1514711492", "f464b24fc39322e44b38aa78f5edd27bd1441696")
		if !VerifyMsgSignature("AAAAA", "1", "2", long, longSig) {
			t.Fatal("long Encrypt rejected")
		}
	})
	if allocs != 0 {
		t.Errorf("verifiers allocate %v times per call", allocs)
	}
}
