package codec_test

import (
	"fmt"

	"github.com/wxsub/wxsub/codec"
)

// WeChat checks the callback URL with a signed GET; the query carries
// signature, timestamp, nonce and echostr.
func ExampleVerifySignature() {
	ok := codec.VerifySignature("AAAAA", "1714036504", "1514711492", "f464b24fc39322e44b38aa78f5edd27bd1441696")
	fmt.Println(ok)
	// Output: true
}

// In safe mode, verify msg_signature over the envelope's Encrypt field
// first, then decrypt it.
func ExampleCipher_Decrypt() {
	const (
		encrypt      = "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
		msgSignature = "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
	)
	if !codec.VerifyMsgSignature("AAAAA", "1714112445", "415670741", encrypt, msgSignature) {
		fmt.Println("forged")
		return
	}
	c, err := codec.NewCipher("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "wxba5fad812f8e6fb9")
	if err != nil {
		fmt.Println(err)
		return
	}
	plain, err := c.Decrypt(encrypt)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(plain))
	// Output: {"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}
}

// Decode tells XML from JSON by the body and gathers the subscription
// items from whichever shape the push used.
func ExampleDecode() {
	body := []byte(`<xml>
  <ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
  <FromUserName><![CDATA[otFpruAK8D-E6EfStSYonYSBZ8_4]]></FromUserName>
  <CreateTime>1610969440</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[subscribe_msg_popup_event]]></Event>
  <SubscribeMsgPopupEvent>
    <List>
      <TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>
      <SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>
      <PopupScene>2</PopupScene>
    </List>
    <List>
      <TemplateId><![CDATA[9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI]]></TemplateId>
      <SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>
      <PopupScene>2</PopupScene>
    </List>
  </SubscribeMsgPopupEvent>
</xml>`)
	var m codec.Message
	if err := codec.Decode(body, &m); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Format, m.Event, m.FromUserName, m.CreateTime)
	for _, it := range m.Items {
		fmt.Println(it.TemplateID, it.Status, it.PopupScene)
	}

	// The same event in JSON, with its items under a top-level List.
	body = []byte(`{"ToUserName":"gh_123456789abc","FromUserName":"o7esq5OI1Uej6Xixw1lA2H7XDVbc","CreateTime":"1620973045",
		"MsgType":"event","Event":"subscribe_msg_popup_event",
		"List":{"TemplateId":"hD-ixGOhYmUfjOnI8MCzQMPshzGVeux_2vzyvQu7O68","SubscribeStatusString":"accept","PopupScene":"0"}}`)
	if err := codec.Decode(body, &m); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Format, m.Event, m.FromUserName, m.CreateTime)
	for _, it := range m.Items {
		fmt.Println(it.TemplateID, it.Status, it.PopupScene)
	}
	// Output:
	// xml subscribe_msg_popup_event otFpruAK8D-E6EfStSYonYSBZ8_4 1610969440
	// VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc accept 2
	// 9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI reject 2
	// json subscribe_msg_popup_event o7esq5OI1Uej6Xixw1lA2H7XDVbc 1620973045
	// hD-ixGOhYmUfjOnI8MCzQMPshzGVeux_2vzyvQu7O68 accept 0
}

// Fields gives a hook for an unknown event every field by name.
func ExampleFields() {
	m := codec.Message{Raw: `{"ToUserName":"gh_97417a04a28d","MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`}
	fields, err := codec.Fields(&m)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fields["Event"], fields["debug_str"])
	// Output: debug_demo hello world
}

// A customer-service message can be handed to the human agents' tool with
// a passive reply.
func ExampleTransferCustomerService() {
	msg := codec.Message{ToUserName: "gh_97417a04a28d", FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", MsgType: codec.MsgTypeText}
	reply := codec.TransferCustomerService(&msg, 1399197672)
	fmt.Println(string(codec.EncodeReply(codec.JSON, reply)))
	// Output: {"ToUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","FromUserName":"gh_97417a04a28d","CreateTime":1399197672,"MsgType":"transfer_customer_service"}
}

// An encrypted passive reply: WeChat expects the envelope with Encrypt and
// its MsgSignature.
func ExampleCipher_EncryptWithPrefix() {
	c, err := codec.NewCipher("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "wxba5fad812f8e6fb9")
	if err != nil {
		fmt.Println(err)
		return
	}
	var prefix [16]byte
	copy(prefix[:], "707722b803182950") // use Encrypt for a random prefix
	enc := c.EncryptWithPrefix(prefix, []byte(`{"demo_resp":"good luck"}`))
	sig := codec.Signature("AAAAA", "1713424427", "415670741", enc)
	fmt.Println(string(codec.EncodeEncryptedReply(codec.JSON, enc, sig, 1713424427, "415670741")))
	// Output: {"Encrypt":"ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==","MsgSignature":"1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1","TimeStamp":1713424427,"Nonce":"415670741"}
}
