-- wrk script for run-wrk.sh: POSTs WeChat's two-item popup event (XML) to
-- the path given after "--", signed by the query given after it. Every
-- request gets its own CreateTime (thread id × 10^9 + a counter), so the
-- route's dedupe claims a new key each time and runs the full path.
--
--   wrk -t2 -c64 -d5s --latency -s callback.lua http://127.0.0.1:18080 -- /wechat 'signature=..&timestamp=..&nonce=..'

local body = "<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName>" ..
  "<FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName>" ..
  "<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType>" ..
  "<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent>" ..
  "<List><TemplateId><![CDATA[hD-ixGOhYmUfjOnI8MCzQMPshzGVeux_2vzyvQu7O68]]></TemplateId>" ..
  "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>0</PopupScene></List>" ..
  "<List><TemplateId><![CDATA[hD-ixGOhYmUfjOnI8MCzQMPshzGVeux_2vzyvQu7O69]]></TemplateId>" ..
  "<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>0</PopupScene></List>" ..
  "</SubscribeMsgPopupEvent></xml>"

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  target = args[1] .. "?" .. args[2]
  seq = (id + 1) * 1000000000
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/xml"
end

function request()
  seq = seq + 1
  return wrk.format(nil, target, nil, string.format(body, seq))
end
