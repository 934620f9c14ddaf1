/**
 * CDR fields from raw SIP header values: icid (RFC 7315), original called number (Diversion RFC 5806,
 * History-Info RFC 7044), party URIs. Malformed values never throw.
 */
import t from "tap";
import {
  MAX_FIELD_CHARS,
  formatPChargingVector,
  icidFromPChargingVector,
  originalCalledNumber,
  originalFromDiversion,
  originalFromHistoryInfo,
  partyUri,
} from "../../../../src/cdr/headers.js";

t.test("icid from P-Charging-Vector", async (t) => {
  t.equal(
    icidFromPChargingVector("icid-value=1234bc9876e;icid-generated-at=192.0.6.8;orig-ioi=home1.net"),
    "1234bc9876e",
  );
  t.equal(
    icidFromPChargingVector('orig-ioi=a.net; ICID-VALUE = "AyretyU0dm+6O2IrT5tAFrbHLso=023551024"'),
    "AyretyU0dm+6O2IrT5tAFrbHLso=023551024",
  );
  t.equal(icidFromPChargingVector("orig-ioi=a.net"), null, "no icid-value");
  t.equal(icidFromPChargingVector("icid-value="), null, "empty icid-value");
  t.equal(icidFromPChargingVector(null), null);
  t.equal(icidFromPChargingVector(undefined), null);
  t.equal(icidFromPChargingVector(`icid-value=${"x".repeat(5000)}`)?.length, MAX_FIELD_CHARS, "bounded");
});

t.test("P-Charging-Vector for calls Korus originates round-trips", async (t) => {
  t.equal(formatPChargingVector("abc123"), "icid-value=abc123");
  const v = formatPChargingVector("abc123", "192.0.2.10", "korus.example");
  t.equal(v, "icid-value=abc123;icid-generated-at=192.0.2.10;orig-ioi=korus.example");
  t.equal(icidFromPChargingVector(v), "abc123");
});

t.test("original called number from Diversion: the last (oldest) entry", async (t) => {
  t.equal(
    originalFromDiversion([
      "<sip:+15551110002@carrier.example;user=phone>;reason=no-answer;counter=1",
      "<sip:+15551110001@carrier.example;user=phone>;reason=unconditional;counter=1",
    ]),
    "+15551110001",
  );
  t.equal(originalFromDiversion(['"Bob" <tel:+4930123>;reason=user-busy, <sip:100@pbx>;reason=unconditional']), "100");
  t.equal(originalFromDiversion([]), null);
  t.equal(originalFromDiversion(["<<<not a uri"]), null, "malformed: null, no throw");
});

t.test("original called number from History-Info: the entry with the lowest index", async (t) => {
  t.equal(
    originalFromHistoryInfo([
      "<sip:+4930111@ims.example;cause=302>;index=1.1",
      "<sip:+4930100@ims.example?Reason=SIP%3Bcause%3D302>;index=1",
    ]),
    "+4930100",
    "order by index, not by position",
  );
  t.equal(originalFromHistoryInfo(["<tel:+4930100>;index=1,<sip:+4930111@ims.example>;index=1.1;rc=1"]), "+4930100");
  t.equal(originalFromHistoryInfo(["<sip:+4930100@ims.example>;index=1"]), null, "one entry: no retargeting");
  t.equal(originalFromHistoryInfo(["garbage,,,"]), null);
});

t.test("Diversion wins over History-Info", async (t) => {
  t.equal(originalCalledNumber(["<sip:111@a>"], ["<sip:222@b>;index=1", "<sip:333@b>;index=1.1"]), "111");
  t.equal(originalCalledNumber([], ["<sip:222@b>;index=1", "<sip:333@b>;index=1.1"]), "222");
  t.equal(originalCalledNumber([], []), null);
});

t.test("party URIs drop display names and tags", async (t) => {
  t.equal(
    partyUri('"Alice" <sip:+15551234@carrier.example;user=phone>;tag=abc'),
    "sip:+15551234@carrier.example;user=phone",
  );
  t.equal(partyUri("<sip:bob@example.com>;tag=1, <tel:+1555>"), "sip:bob@example.com", "first of a list");
  t.equal(partyUri("tel:+4930123"), "tel:+4930123");
  t.equal(partyUri("<<broken"), "<<broken", "unparseable kept as text");
  t.equal(partyUri("   "), null);
  t.equal(partyUri(null), null);
});
