// Package handlers turns a decoded WeChat push into a typed event and runs
// the hooks registered for it.
//
// A Mux holds the hooks. Register them before the Mux serves its first push,
// one typed method per kind of push:
//
//	mux := handlers.NewMux()
//	mux.OnSubscribePopup(func(ctx context.Context, ev *handlers.SubscribePopupEvent) error {
//		for _, it := range ev.Items {
//			if it.Accepted() {
//				// the user allowed one more message of it.TemplateID
//			}
//		}
//		return nil
//	})
//
// Several hooks may be registered for one kind; Dispatch runs them in the
// order they were added and stops at the first error. A push of a kind the
// Mux has no typed method for (a new event, a new message type) goes to the
// hooks added with OnUnknown, together with the raw fields of the push by
// name (the last of a repeated element wins) and the whole body in
// Message.Raw, so nothing WeChat adds later is lost.
//
// Customer-service messages and events embed a Session. A hook may call its
// TransferToCustomerService or SetReply method to answer the push passively
// (for example to hand the conversation to the human agent tool) instead of
// with "success". The last reply set wins. Package middleware encodes the
// reply, encrypting it when the push was encrypted.
package handlers
