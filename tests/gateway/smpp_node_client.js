// A third-party SMPP client (the npm package `smpp`) sending long messages as UDH and SAR
// parts, in GSM and UCS-2, then waiting for a receipt per part. Prints what it saw as JSON.
// Usage: node smpp_node_client.js <port> <messages>
"use strict";
const smpp = require("smpp");

const port = Number(process.argv[2]);
const count = Number(process.argv[3]);
const GSM = "Your parcel 4711 is on its way and arrives tomorrow between 9 and 12 o'clock. ".repeat(4);
const UCS2 = "Ваш код подтверждения: 4711. Никому его не сообщайте. ".repeat(3);

function chunks(text, size) {
  const out = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function plan() {
  const messages = [];
  for (let i = 0; i < count; i++) {
    const kind = ["udh-gsm", "udh-ucs2", "sar-gsm", "sar-ucs2", "short"][i % 5];
    const ucs2 = kind.endsWith("ucs2");
    const dest = "4915114" + String(i).padStart(6, "0");
    const base = { source_addr: "Acme", source_addr_ton: 5, destination_addr: dest,
      dest_addr_ton: 1, dest_addr_npi: 1, registered_delivery: 1, data_coding: ucs2 ? 8 : 0 };
    if (kind === "short") {
      messages.push([{ ...base, short_message: "Code " + i }]);
      continue;
    }
    const parts = chunks((ucs2 ? UCS2 : GSM) + i, ucs2 ? 67 : 153);
    const ref = i % 256;
    messages.push(parts.map((text, n) => kind.startsWith("udh")
      ? { ...base, short_message: { udh: Buffer.from([5, 0, 3, ref, parts.length, n + 1]), message: text } }
      : { ...base, short_message: text, sar_msg_ref_num: 2000 + i,
          sar_total_segments: parts.length, sar_segment_seqnum: n + 1 }));
  }
  return messages;
}

const messages = plan();
const total = messages.reduce((s, m) => s + m.length, 0);
const respIds = [];
const receipts = [];
const errors = [];
const session = smpp.connect({ url: `smpp://127.0.0.1:${port}`, auto_enquire_link_period: 10000 });
const timer = setTimeout(finish, 60000);

function finish() {
  clearTimeout(timer);
  console.log(JSON.stringify({ parts: total, resp_ids: respIds, receipts, errors }));
  session.close();
  process.exit(0);
}

session.on("deliver_sm", (pdu) => {
  const stat = /stat:(\w+)/.exec(String(pdu.short_message.message || pdu.short_message));
  receipts.push([pdu.receipted_message_id, stat ? stat[1] : null]);
  session.send(pdu.response());
  if (receipts.length >= total && respIds.length >= total) finish();
});
session.on("error", (e) => { errors.push(String(e)); finish(); });

session.bind_transceiver({ system_id: "client1", password: "secret" }, (pdu) => {
  if (pdu.command_status !== 0) { errors.push("bind " + pdu.command_status); finish(); return; }
  for (const parts of messages) {
    for (const part of parts) {
      session.submit_sm(part, (resp) => {
        if (resp.command_status !== 0) errors.push("submit " + resp.command_status);
        else respIds.push(resp.message_id);
      });
    }
  }
});
