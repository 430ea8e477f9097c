package desk.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.alipay.api.AlipayApiException;
import com.alipay.api.AlipayClient;
import com.alipay.api.AlipayConfig;
import com.alipay.api.DefaultAlipayClient;
import com.alipay.api.domain.AlipayDataDataserviceBillDownloadurlQueryModel;
import com.alipay.api.domain.AlipayFundTransCommonQueryModel;
import com.alipay.api.domain.AlipayFundTransUniTransferModel;
import com.alipay.api.domain.AlipayTradeAppPayModel;
import com.alipay.api.domain.AlipayTradeCloseModel;
import com.alipay.api.domain.AlipayTradeFastpayRefundQueryModel;
import com.alipay.api.domain.AlipayTradePrecreateModel;
import com.alipay.api.domain.AlipayTradeQueryModel;
import com.alipay.api.domain.AlipayTradeRefundModel;
import com.alipay.api.domain.AlipayTradeWapPayModel;
import com.alipay.api.domain.Participant;
import com.alipay.api.internal.util.AlipaySignature;
import com.alipay.api.request.AlipayDataDataserviceBillDownloadurlQueryRequest;
import com.alipay.api.request.AlipayFundTransCommonQueryRequest;
import com.alipay.api.request.AlipayFundTransUniTransferRequest;
import com.alipay.api.request.AlipayTradeAppPayRequest;
import com.alipay.api.request.AlipayTradeCloseRequest;
import com.alipay.api.request.AlipayTradeFastpayRefundQueryRequest;
import com.alipay.api.request.AlipayTradePrecreateRequest;
import com.alipay.api.request.AlipayTradeQueryRequest;
import com.alipay.api.request.AlipayTradeRefundRequest;
import com.alipay.api.request.AlipayTradeWapPayRequest;
import com.alipay.api.response.AlipayDataDataserviceBillDownloadurlQueryResponse;
import com.alipay.api.response.AlipayFundTransCommonQueryResponse;
import com.alipay.api.response.AlipayFundTransUniTransferResponse;
import com.alipay.api.response.AlipayTradeCloseResponse;
import com.alipay.api.response.AlipayTradeFastpayRefundQueryResponse;
import com.alipay.api.response.AlipayTradePrecreateResponse;
import com.alipay.api.response.AlipayTradeQueryResponse;
import com.alipay.api.response.AlipayTradeRefundResponse;
import com.google.gson.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Alipay sandbox driven by Alipay's official Java SDK (alipay-sdk-java, OpenAPI v2, RSA2 public-key mode) with
 * the answer signature check on: AlipayConfig carries the sandbox's Alipay public key, so every answer the SDK
 * accepts was signed over its exact bytes the way Alipay signs. Notifications and the sync return are verified
 * with AlipaySignature.rsaCheckV1, the check Alipay's documentation prescribes for them.
 */
class AlipayConformanceTest {
  private static final ZoneId SHANGHAI = ZoneId.of("Asia/Shanghai");
  private static NotifyServer notify;
  private static AlipayClient client;
  private static String base;
  private static String alipayPublicKey;

  @BeforeAll
  static void setUp() throws Exception {
    // The SDK logs every call with its signed parameters; the assertions carry what a failure needs.
    com.alipay.api.internal.util.AlipayLogger.setNeedEnableLogger(false);
    notify = new NotifyServer();
    base = Env.alipayUrl();
    alipayPublicKey = Env.pemBody(Env.alipayPublicKey());
    client = client(Env.pemBody(Env.alipayAppPrivateKey()), alipayPublicKey);
  }

  @AfterAll
  static void tearDown() {
    if (notify != null) notify.close();
  }

  static AlipayClient client(String appPrivateKey, String alipayKey) throws AlipayApiException {
    AlipayConfig c = new AlipayConfig();
    c.setServerUrl(base + "/gateway.do");
    c.setAppId(Env.alipayAppId());
    c.setPrivateKey(appPrivateKey);
    c.setAlipayPublicKey(alipayKey);
    c.setFormat("json");
    c.setCharset("UTF-8");
    c.setSignType("RSA2");
    return new DefaultAlipayClient(c);
  }

  static String newNo(String prefix) {
    return prefix + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
  }

  static Map<String, String> form(String body) {
    Map<String, String> params = new LinkedHashMap<>();
    for (String pair : body.split("&")) {
      int i = pair.indexOf('=');
      params.put(URLDecoder.decode(pair.substring(0, i), StandardCharsets.UTF_8), URLDecoder.decode(pair.substring(i + 1), StandardCharsets.UTF_8));
    }
    return params;
  }

  /** A trade_status_sync received at `path`, verified with the SDK's rsaCheckV1 (the method notify_url needs). */
  static Map<String, String> verifiedNotification(String path, String tradeStatus) throws Exception {
    NotifyServer.Received n = notify.await(r -> r.path().equals(path) && form(r.body()).get("trade_status").equals(tradeStatus));
    Map<String, String> params = form(n.body());
    assertTrue(rsaCheckV1(params), "notification signature: " + n.body());
    assertEquals("trade_status_sync", params.get("notify_type"));
    assertEquals(Env.alipayAppId(), params.get("app_id"));
    // Tampering with any signed value must break the check: the verification really looks at the content.
    Map<String, String> forged = new LinkedHashMap<>(params);
    forged.put("total_amount", "0.01".equals(params.get("total_amount")) ? "0.02" : "0.01");
    assertFalse(rsaCheckV1(forged));
    return params;
  }

  /** AlipaySignature.rsaCheckV1 on a copy: it removes sign and sign_type from the map it is given. */
  static boolean rsaCheckV1(Map<String, String> params) throws AlipayApiException {
    return AlipaySignature.rsaCheckV1(new LinkedHashMap<>(params), alipayPublicKey, "UTF-8", "RSA2");
  }

  static AlipayTradeQueryResponse query(String outTradeNo) throws AlipayApiException {
    AlipayTradeQueryRequest q = new AlipayTradeQueryRequest();
    AlipayTradeQueryModel m = new AlipayTradeQueryModel();
    m.setOutTradeNo(outTradeNo);
    q.setBizModel(m);
    return client.execute(q);
  }

  static AlipayTradeCloseResponse close(String outTradeNo) throws AlipayApiException {
    AlipayTradeCloseRequest c = new AlipayTradeCloseRequest();
    AlipayTradeCloseModel m = new AlipayTradeCloseModel();
    m.setOutTradeNo(outTradeNo);
    c.setBizModel(m);
    return client.execute(c);
  }

  /** The buyer presses 确认付款 on a sandbox cashier page; returns the answer (a page, or a 302 to return_url). */
  static Http.Response payOnCashierPage(String pageHtml) {
    String action = Http.find(pageHtml, "action=\"(/cashier/[A-Za-z0-9_-]+/pay)\"");
    return Http.postForm(base + action, Map.of());
  }

  static String precreate(String outTradeNo, String amount, String path) throws AlipayApiException {
    AlipayTradePrecreateRequest req = new AlipayTradePrecreateRequest();
    req.setNotifyUrl(notify.url(path));
    AlipayTradePrecreateModel m = new AlipayTradePrecreateModel();
    m.setOutTradeNo(outTradeNo);
    m.setTotalAmount(amount);
    m.setSubject("收银台 conformance 100% a+b");
    req.setBizModel(m);
    AlipayTradePrecreateResponse r = client.execute(req);
    assertTrue(r.isSuccess(), r.getBody());
    assertEquals(outTradeNo, r.getOutTradeNo());
    assertNotNull(r.getQrCode());
    return r.getQrCode();
  }

  @Test
  void precreateScanPayQueryAndCloseErrors() throws Exception {
    String no = newNo("PRE");
    String qr = precreate(no, "19.99", "/alipay/precreate");

    // Alipay creates a precreated trade only when the buyer scans its QR code.
    AlipayTradeQueryResponse before = query(no);
    assertFalse(before.isSuccess());
    assertEquals("40004", before.getCode());
    assertEquals("ACQ.TRADE_NOT_EXIST", before.getSubCode());

    Http.Response scanned = Http.get(qr);
    assertEquals(200, scanned.status());
    AlipayTradeQueryResponse waiting = query(no);
    assertTrue(waiting.isSuccess(), waiting.getBody());
    assertEquals("WAIT_BUYER_PAY", waiting.getTradeStatus());

    assertEquals(200, payOnCashierPage(scanned.body()).status());
    Map<String, String> n = verifiedNotification("/alipay/precreate", "TRADE_SUCCESS");
    assertEquals(no, n.get("out_trade_no"));
    assertEquals("19.99", n.get("total_amount"));

    AlipayTradeQueryResponse paid = query(no);
    assertTrue(paid.isSuccess(), paid.getBody());
    assertEquals("TRADE_SUCCESS", paid.getTradeStatus());
    assertEquals("19.99", paid.getTotalAmount());
    assertEquals(n.get("trade_no"), paid.getTradeNo());

    // A paid trade cannot be closed.
    AlipayTradeCloseResponse closed = close(no);
    assertFalse(closed.isSuccess());
    assertEquals("ACQ.TRADE_STATUS_ERROR", closed.getSubCode());
    // An unknown trade is unknown to close as well.
    assertEquals("ACQ.TRADE_NOT_EXIST", close(newNo("NONE")).getSubCode());
  }

  @Test
  void wapPayByGetUrlThenSignedSyncReturn() throws Exception {
    String no = newNo("WAPG");
    AlipayTradeWapPayRequest req = new AlipayTradeWapPayRequest();
    req.setNotifyUrl(notify.url("/alipay/wap-get"));
    req.setReturnUrl("http://127.0.0.1:9/return");
    AlipayTradeWapPayModel m = new AlipayTradeWapPayModel();
    m.setOutTradeNo(no);
    m.setTotalAmount("0.01");
    m.setSubject("H5 支付");
    m.setProductCode("QUICK_WAP_WAY");
    req.setBizModel(m);
    String url = client.pageExecute(req, "GET").getBody();
    assertTrue(url.startsWith(base + "/gateway.do?"), url);

    Http.Response page = Http.get(url);
    assertEquals(200, page.status());
    assertTrue(page.contentType().startsWith("text/html"), page.contentType());
    Http.Response paid = payOnCashierPage(page.body());
    assertEquals(302, paid.status());
    URI back = URI.create(paid.headers().firstValue("location").orElseThrow());
    assertEquals("/return", back.getPath());
    Map<String, String> ret = form(back.getRawQuery());
    assertTrue(rsaCheckV1(ret), "sync return signature: " + back);
    assertEquals(no, ret.get("out_trade_no"));
    assertEquals("alipay.trade.wap.pay.return", ret.get("method"));

    assertEquals(no, verifiedNotification("/alipay/wap-get", "TRADE_SUCCESS").get("out_trade_no"));
    assertEquals("TRADE_SUCCESS", query(no).getTradeStatus());
  }

  @Test
  void wapPayByPostFormThenCloseUnpaid() throws Exception {
    String no = newNo("WAPP");
    AlipayTradeWapPayRequest req = new AlipayTradeWapPayRequest();
    req.setNotifyUrl(notify.url("/alipay/wap-post"));
    AlipayTradeWapPayModel m = new AlipayTradeWapPayModel();
    m.setOutTradeNo(no);
    m.setTotalAmount("8.80");
    m.setSubject("表单 \"POST\"");
    m.setProductCode("QUICK_WAP_WAY");
    req.setBizModel(m);
    String html = client.pageExecute(req).getBody();
    // What the browser does with the SDK's auto-submitting form: POST its hidden fields to its action.
    String action = Http.find(html, "action=\"([^\"]+)\"");
    Map<String, String> fields = new LinkedHashMap<>();
    java.util.regex.Matcher f = java.util.regex.Pattern.compile("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">").matcher(html);
    while (f.find()) fields.put(f.group(1), f.group(2).replace("&quot;", "\""));
    assertTrue(fields.containsKey("biz_content"), html);
    Http.Response page = Http.postForm(action, fields);
    assertEquals(200, page.status(), page.body());
    assertTrue(page.body().contains("8.80"), page.body());

    AlipayTradeQueryResponse waiting = query(no);
    assertEquals("WAIT_BUYER_PAY", waiting.getTradeStatus());
    AlipayTradeCloseResponse closed = close(no);
    assertTrue(closed.isSuccess(), closed.getBody());
    assertEquals(no, closed.getOutTradeNo());
    assertEquals("TRADE_CLOSED", query(no).getTradeStatus());
    // Closing again: the trade is no longer WAIT_BUYER_PAY.
    assertEquals("ACQ.TRADE_STATUS_ERROR", close(no).getSubCode());
  }

  @Test
  void appOrderStringPaidInTheApp() throws Exception {
    String no = newNo("APP");
    AlipayTradeAppPayRequest req = new AlipayTradeAppPayRequest();
    req.setNotifyUrl(notify.url("/alipay/app"));
    AlipayTradeAppPayModel m = new AlipayTradeAppPayModel();
    m.setOutTradeNo(no);
    m.setTotalAmount("1.23");
    m.setSubject("App 支付");
    m.setProductCode("QUICK_MSECURITY_PAY");
    req.setBizModel(m);
    String orderString = client.sdkExecute(req).getBody();
    // The Alipay app verifies the order string and opens its cashier (the sandbox's stand-in for the app).
    Http.Response app = Http.postText(base + "/__sim/app-pay", orderString);
    assertEquals(200, app.status(), app.body());
    String payUrl = app.json().get("pay_url").getAsString();
    assertEquals(200, payOnCashierPage(Http.get(payUrl).body()).status());
    assertEquals("1.23", verifiedNotification("/alipay/app", "TRADE_SUCCESS").get("total_amount"));
    assertEquals("TRADE_SUCCESS", query(no).getTradeStatus());

    // An order string altered after signing is refused by the "app".
    Http.Response forged = Http.postText(base + "/__sim/app-pay", orderString.replace("1.23", "0.01"));
    assertEquals(400, forged.status(), forged.body());
    assertEquals("isv.invalid-signature", forged.json().get("sub_code").getAsString());
  }

  /** The sandbox's tampered delivery (amount changed after signing) fails rsaCheckV1; the genuine one follows. */
  @Test
  void tamperedNotificationFailsRsaCheckV1() throws Exception {
    String no = newNo("TAMP");
    Http.get(precreate(no, "6.66", "/alipay/tampered"));
    JsonObject pay = new JsonObject();
    pay.addProperty("notify", "tampered");
    Http.control(base, "POST", "/__sim/trades/" + no + "/pay", pay);
    NotifyServer.Received forged = notify.await(r -> r.path().equals("/alipay/tampered") && !form(r.body()).get("total_amount").equals("6.66"));
    assertFalse(rsaCheckV1(form(forged.body())));
    NotifyServer.Received genuine = notify.await(r -> r.path().equals("/alipay/tampered") && form(r.body()).get("total_amount").equals("6.66"));
    assertTrue(rsaCheckV1(form(genuine.body())));
  }

  @Test
  void closeWithNotifyUrlAndFinishedTradesNotifyAndRefuseRefunds() throws Exception {
    // alipay.trade.close carries its own notify_url: the TRADE_CLOSED notification goes there.
    String open = newNo("CLN");
    Http.get(precreate(open, "4.00", "/alipay/close-created"));
    AlipayTradeCloseRequest c = new AlipayTradeCloseRequest();
    c.setNotifyUrl(notify.url("/alipay/closed"));
    AlipayTradeCloseModel cm = new AlipayTradeCloseModel();
    cm.setOutTradeNo(open);
    c.setBizModel(cm);
    assertTrue(client.execute(c).isSuccess());
    assertEquals(open, verifiedNotification("/alipay/closed", "TRADE_CLOSED").get("out_trade_no"));

    // TRADE_FINISHED (the refund period is over): notified, and refunds are refused.
    String no = newNo("FIN");
    assertEquals(200, payOnCashierPage(Http.get(precreate(no, "5.00", "/alipay/finished")).body()).status());
    Http.control(base, "POST", "/__sim/trades/" + no + "/finish", null);
    assertEquals(no, verifiedNotification("/alipay/finished", "TRADE_FINISHED").get("out_trade_no"));
    assertEquals("TRADE_FINISHED", query(no).getTradeStatus());
    AlipayTradeRefundRequest r = new AlipayTradeRefundRequest();
    AlipayTradeRefundModel rm = new AlipayTradeRefundModel();
    rm.setOutTradeNo(no);
    rm.setRefundAmount("1.00");
    rm.setOutRequestNo("F1");
    r.setBizModel(rm);
    AlipayTradeRefundResponse refused = client.execute(r);
    assertFalse(refused.isSuccess());
    assertEquals("ACQ.TRADE_HAS_FINISHED", refused.getSubCode());
  }

  @Test
  void requestSignedWithAnotherKeyIsRefusedWithInvalidSignature() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    String wrongKey = Base64.getEncoder().encodeToString(g.generateKeyPair().getPrivate().getEncoded());
    AlipayTradeQueryRequest q = new AlipayTradeQueryRequest();
    AlipayTradeQueryModel m = new AlipayTradeQueryModel();
    m.setOutTradeNo(newNo("SIG"));
    q.setBizModel(m);
    AlipayTradeQueryResponse r = client(wrongKey, alipayPublicKey).execute(q);
    assertFalse(r.isSuccess());
    assertEquals("40002", r.getCode());
    assertEquals("isv.invalid-signature", r.getSubCode());
  }

  @Test
  void answersSignedByTheSandboxFailForAClientTrustingAnotherAlipayKey() throws Exception {
    // The SDK's answer check is on: with any other Alipay public key a genuine answer is refused.
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    String otherPublic = Base64.getEncoder().encodeToString(g.generateKeyPair().getPublic().getEncoded());
    AlipayClient strict = client(Env.pemBody(Env.alipayAppPrivateKey()), otherPublic);
    AlipayTradePrecreateRequest req = new AlipayTradePrecreateRequest();
    AlipayTradePrecreateModel m = new AlipayTradePrecreateModel();
    m.setOutTradeNo(newNo("KEY"));
    m.setTotalAmount("1.00");
    m.setSubject("x");
    req.setBizModel(m);
    AlipayApiException e = assertThrows(AlipayApiException.class, () -> strict.execute(req));
    assertTrue(String.valueOf(e.getMessage()).contains("sign check fail"), e.getMessage());
  }

  @Test
  void apiMethodOverGetAnswersSignedJson() throws Exception {
    // Alipay dispatches by `method`, not by HTTP verb: an API method sent as a signed GET gets signed JSON.
    String no = newNo("GET");
    Http.get(precreate(no, "2.00", "/alipay/get"));
    AlipayTradeQueryRequest q = new AlipayTradeQueryRequest();
    AlipayTradeQueryModel m = new AlipayTradeQueryModel();
    m.setOutTradeNo(no);
    q.setBizModel(m);
    String url = client.pageExecute(q, "GET").getBody();
    Http.Response r = Http.get(url);
    assertEquals(200, r.status());
    assertTrue(r.contentType().startsWith("application/json"), r.contentType());
    String inner = Http.find(r.body(), "^\\{\"alipay_trade_query_response\":(\\{.*\\}),\"sign\":\"[^\"]+\"\\}$");
    String sign = Http.find(r.body(), "\"sign\":\"([^\"]+)\"\\}$");
    assertTrue(AlipaySignature.rsaCheck(inner, sign, alipayPublicKey, "UTF-8", "RSA2"));
    assertTrue(inner.contains("\"trade_status\":\"WAIT_BUYER_PAY\""), inner);
  }

  @Test
  void refundsRefundQueryAndRefundNotification() throws Exception {
    String no = newNo("REF");
    String qr = precreate(no, "10.00", "/alipay/refund");
    assertEquals(200, payOnCashierPage(Http.get(qr).body()).status());
    verifiedNotification("/alipay/refund", "TRADE_SUCCESS");

    AlipayTradeRefundRequest req = new AlipayTradeRefundRequest();
    AlipayTradeRefundModel m = new AlipayTradeRefundModel();
    m.setOutTradeNo(no);
    m.setRefundAmount("2.50");
    m.setOutRequestNo("R1");
    m.setRefundReason("七天无理由");
    req.setBizModel(m);
    AlipayTradeRefundResponse first = client.execute(req);
    assertTrue(first.isSuccess(), first.getBody());
    assertEquals("Y", first.getFundChange());
    assertEquals("2.50", first.getRefundFee());
    // The same out_request_no again moves no money (fund_change N) and reports the same cumulative refund.
    AlipayTradeRefundResponse again = client.execute(req);
    assertTrue(again.isSuccess(), again.getBody());
    assertEquals("N", again.getFundChange());
    assertEquals("2.50", again.getRefundFee());

    AlipayTradeFastpayRefundQueryRequest qr2 = new AlipayTradeFastpayRefundQueryRequest();
    AlipayTradeFastpayRefundQueryModel qm = new AlipayTradeFastpayRefundQueryModel();
    qm.setOutTradeNo(no);
    qm.setOutRequestNo("R1");
    qr2.setBizModel(qm);
    AlipayTradeFastpayRefundQueryResponse rq = client.execute(qr2);
    assertTrue(rq.isSuccess(), rq.getBody());
    assertEquals("2.50", rq.getRefundAmount());
    assertEquals("REFUND_SUCCESS", rq.getRefundStatus());
    assertEquals("10.00", rq.getTotalAmount());

    // A partial refund is notified as trade_status_sync TRADE_SUCCESS carrying refund_fee and out_biz_no.
    NotifyServer.Received n = notify.await(r -> r.path().equals("/alipay/refund") && form(r.body()).containsKey("refund_fee"));
    Map<String, String> params = form(n.body());
    assertTrue(rsaCheckV1(params));
    assertEquals("R1", params.get("out_biz_no"));
    assertEquals("2.50", params.get("refund_fee"));
    assertNotNull(params.get("gmt_refund"));

    // More than what is left: refused.
    m.setOutRequestNo("R2");
    m.setRefundAmount("7.51");
    AlipayTradeRefundResponse over = client.execute(req);
    assertFalse(over.isSuccess());
    assertEquals("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", over.getSubCode());
  }

  @Test
  void tradeBillDownloadUrlZipOfGbkCsv() throws Exception {
    String no = newNo("BILL");
    precreate(no, "3.21", "/alipay/bill");
    String yesterday = LocalDate.now(SHANGHAI).minusDays(1).toString();
    JsonObject pay = new JsonObject();
    pay.addProperty("paidAt", yesterday + " 12:00:00");
    Http.control(base, "POST", "/__sim/trades/" + no + "/pay", pay);

    AlipayDataDataserviceBillDownloadurlQueryRequest req = new AlipayDataDataserviceBillDownloadurlQueryRequest();
    AlipayDataDataserviceBillDownloadurlQueryModel m = new AlipayDataDataserviceBillDownloadurlQueryModel();
    m.setBillType("trade");
    m.setBillDate(yesterday);
    req.setBizModel(m);
    AlipayDataDataserviceBillDownloadurlQueryResponse r = client.execute(req);
    assertTrue(r.isSuccess(), r.getBody());
    Http.Response file = Http.get(r.getBillDownloadUrl());
    assertEquals(200, file.status());

    Map<String, String> entries = new LinkedHashMap<>();
    Charset gbk = Charset.forName("GBK");
    try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(file.bytes()), gbk)) {
      for (ZipEntry e; (e = zip.getNextEntry()) != null; ) entries.put(e.getName(), new String(zip.readAllBytes(), gbk));
    } catch (IOException e) {
      throw new AssertionError("bill is not a readable zip", e);
    }
    String detailName = entries.keySet().stream().filter(k -> k.endsWith("_业务明细.csv")).findFirst().orElseThrow(() -> new AssertionError(entries.keySet().toString()));
    assertTrue(entries.keySet().stream().anyMatch(k -> k.endsWith("_业务明细(汇总).csv")), entries.keySet().toString());
    List<String[]> rows = new ArrayList<>();
    for (String line : entries.get(detailName).split("\r\n")) {
      if (line.startsWith("#") || line.isEmpty()) continue;
      String[] cells = line.split(",", -1);
      for (int i = 0; i < cells.length; i++) cells[i] = cells[i].trim();
      rows.add(cells);
    }
    assertEquals("支付宝交易号", rows.get(0)[0]);
    assertEquals("商户订单号", rows.get(0)[1]);
    String[] line = rows.stream().filter(c -> c[1].equals(no)).findFirst().orElseThrow(() -> new AssertionError(entries.get(detailName)));
    assertEquals("交易", line[2]);
    assertEquals("3.21", line[11]);

    // A day without activity has no bill.
    m.setBillDate("2020-01-01");
    AlipayDataDataserviceBillDownloadurlQueryResponse none = client.execute(req);
    assertFalse(none.isSuccess());
    assertEquals("isp.bill_not_exist", none.getSubCode());
  }

  @Test
  void transferToAnAlipayAccountAndItsQuery() throws Exception {
    String outBizNo = newNo("TR");
    AlipayFundTransUniTransferRequest req = new AlipayFundTransUniTransferRequest();
    AlipayFundTransUniTransferModel m = new AlipayFundTransUniTransferModel();
    m.setOutBizNo(outBizNo);
    m.setTransAmount("50.00");
    m.setProductCode("TRANS_ACCOUNT_NO_PWD");
    m.setBizScene("DIRECT_TRANSFER");
    m.setOrderTitle("推广奖励");
    Participant payee = new Participant();
    payee.setIdentity("payee@example.com");
    payee.setIdentityType("ALIPAY_LOGON_ID");
    payee.setName("张三");
    m.setPayeeInfo(payee);
    req.setBizModel(m);
    AlipayFundTransUniTransferResponse r = client.execute(req);
    assertTrue(r.isSuccess(), r.getBody());
    assertEquals("SUCCESS", r.getStatus());
    assertEquals(outBizNo, r.getOutBizNo());
    assertNotNull(r.getOrderId());

    AlipayFundTransCommonQueryRequest q = new AlipayFundTransCommonQueryRequest();
    AlipayFundTransCommonQueryModel qm = new AlipayFundTransCommonQueryModel();
    qm.setOutBizNo(outBizNo);
    qm.setProductCode("TRANS_ACCOUNT_NO_PWD");
    qm.setBizScene("DIRECT_TRANSFER");
    q.setBizModel(qm);
    AlipayFundTransCommonQueryResponse qr = client.execute(q);
    assertTrue(qr.isSuccess(), qr.getBody());
    assertEquals("SUCCESS", qr.getStatus());
    assertEquals(r.getOrderId(), qr.getOrderId());

    // The payee's real name is checked.
    m.setOutBizNo(newNo("TRX"));
    payee.setName("李四");
    AlipayFundTransUniTransferResponse wrongName = client.execute(req);
    assertFalse(wrongName.isSuccess());
    assertEquals("PAYEE_USER_INFO_ERROR", wrongName.getSubCode());
  }
}
