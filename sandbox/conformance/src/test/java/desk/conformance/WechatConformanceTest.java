package desk.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.wechat.pay.java.core.RSAAutoCertificateConfig;
import com.wechat.pay.java.core.auth.WechatPay2Credential;
import com.wechat.pay.java.core.cipher.PrivacyEncryptor;
import com.wechat.pay.java.core.cipher.RSASigner;
import com.wechat.pay.java.core.exception.ServiceException;
import com.wechat.pay.java.core.exception.ValidationException;
import com.wechat.pay.java.core.http.Constant;
import com.wechat.pay.java.core.http.DefaultHttpClientBuilder;
import com.wechat.pay.java.core.http.HttpClient;
import com.wechat.pay.java.core.http.HttpHeaders;
import com.wechat.pay.java.core.http.HttpMethod;
import com.wechat.pay.java.core.http.HttpRequest;
import com.wechat.pay.java.core.http.JsonRequestBody;
import com.wechat.pay.java.core.http.MediaType;
import com.wechat.pay.java.core.notification.NotificationParser;
import com.wechat.pay.java.core.notification.RequestParam;
import com.wechat.pay.java.service.billdownload.BillDownloadServiceExtension;
import com.wechat.pay.java.service.billdownload.DigestBillEntity;
import com.wechat.pay.java.service.billdownload.model.AccountType;
import com.wechat.pay.java.service.billdownload.model.BillType;
import com.wechat.pay.java.service.billdownload.model.GetFundFlowBillRequest;
import com.wechat.pay.java.service.billdownload.model.GetTradeBillRequest;
import com.wechat.pay.java.service.billdownload.model.TarType;
import com.wechat.pay.java.service.payments.app.AppServiceExtension;
import com.wechat.pay.java.service.payments.h5.H5Service;
import com.wechat.pay.java.service.payments.h5.model.H5Info;
import com.wechat.pay.java.service.payments.h5.model.SceneInfo;
import com.wechat.pay.java.service.payments.jsapi.JsapiServiceExtension;
import com.wechat.pay.java.service.payments.jsapi.model.Payer;
import com.wechat.pay.java.service.payments.model.Transaction;
import com.wechat.pay.java.service.payments.nativepay.NativePayService;
import com.wechat.pay.java.service.payments.nativepay.model.Amount;
import com.wechat.pay.java.service.payments.nativepay.model.CloseOrderRequest;
import com.wechat.pay.java.service.payments.nativepay.model.PrepayRequest;
import com.wechat.pay.java.service.payments.nativepay.model.QueryOrderByOutTradeNoRequest;
import com.wechat.pay.java.service.refund.RefundService;
import com.wechat.pay.java.service.refund.model.AmountReq;
import com.wechat.pay.java.service.refund.model.CreateRequest;
import com.wechat.pay.java.service.refund.model.QueryByOutRefundNoRequest;
import com.wechat.pay.java.service.refund.model.Refund;
import com.wechat.pay.java.service.refund.model.RefundNotification;
import com.wechat.pay.java.service.refund.model.Status;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The WeChat Pay sandbox driven by WeChat Pay's official Java SDK (wechatpay-java) with verification on: the
 * platform certificates come from the sandbox's /v3/certificates through RSAAutoCertificateConfig (decrypted with
 * the APIv3 key), every answer passes the SDK's WechatPay2Validator, and notifications are verified and decrypted by
 * the SDK's NotificationParser.
 *
 * wechatpay-java builds every URL on https://api.mch.weixin.qq.com (HostName only offers WeChat's own hosts). An
 * OkHttp interceptor handed to DefaultHttpClientBuilder.okHttpClient sends those calls to the sandbox instead; the
 * request signature covers only path and query, so it stays valid, and URLs the sandbox hands out itself (bill
 * download_url) pass unchanged.
 */
class WechatConformanceTest {
  private static final ZoneId SHANGHAI = ZoneId.of("Asia/Shanghai");
  private static NotifyServer notify;
  private static OkHttpClient okHttp;
  private static String base;
  private static String mchId;
  private static String appId;
  private static RSAAutoCertificateConfig config;
  private static HttpClient http;
  private static NativePayService nativePay;

  @BeforeAll
  static void setUp() throws Exception {
    notify = new NotifyServer();
    base = Env.wechatUrl();
    mchId = Env.wechatMchId();
    appId = Env.wechatAppId();
    HttpUrl sandbox = HttpUrl.get(base);
    okHttp = new OkHttpClient.Builder()
        .addInterceptor(chain -> {
          Request r = chain.request();
          if (!r.url().host().equals("api.mch.weixin.qq.com")) return chain.proceed(r);
          HttpUrl to = r.url().newBuilder().scheme(sandbox.scheme()).host(sandbox.host()).port(sandbox.port()).build();
          return chain.proceed(r.newBuilder().url(to).build());
        })
        .build();
    config = newConfig();
    http = new DefaultHttpClientBuilder().config(config).okHttpClient(okHttp).build();
    nativePay = new NativePayService.Builder().httpClient(http).build();
  }

  @AfterAll
  static void tearDown() {
    if (notify != null) notify.close();
  }

  /** Downloads (again) the platform certificates: RSAAutoCertificateConfig fetches them when built. */
  static RSAAutoCertificateConfig newConfig() {
    return new RSAAutoCertificateConfig.Builder()
        .merchantId(mchId)
        .privateKey(Env.wechatMerchantPrivateKey())
        .merchantSerialNumber(Env.wechatMerchantSerial())
        .apiV3Key(Env.wechatApiV3Key())
        .httpClientBuilder(new DefaultHttpClientBuilder().okHttpClient(okHttp))
        .build();
  }

  static String newNo(String prefix) {
    return prefix + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
  }

  static String nativePrepay(String outTradeNo, int fen, String path) {
    PrepayRequest req = new PrepayRequest();
    req.setAppid(appId);
    req.setMchid(mchId);
    req.setDescription("收银台 conformance");
    req.setOutTradeNo(outTradeNo);
    req.setNotifyUrl(notify.url(path));
    Amount amount = new Amount();
    amount.setTotal(fen);
    req.setAmount(amount);
    String codeUrl = nativePay.prepay(req).getCodeUrl();
    assertTrue(codeUrl.startsWith("weixin://wxpay/bizpayurl?pr="), codeUrl);
    return codeUrl;
  }

  static Transaction query(String outTradeNo) {
    QueryOrderByOutTradeNoRequest q = new QueryOrderByOutTradeNoRequest();
    q.setMchid(mchId);
    q.setOutTradeNo(outTradeNo);
    return nativePay.queryOrderByOutTradeNo(q);
  }

  /** The buyer confirms on the sandbox's payment sheet (the page WeChat shows). */
  static Http.Response confirmOnSheet(String sheetHtml) {
    assertTrue(sheetHtml.contains("wx-pay-confirm"), sheetHtml);
    String prepayId = Http.find(sheetHtml, "name=\"prepay_id\" value=\"([^\"]+)\"");
    return Http.postForm(base + "/pay/confirm", Map.of("prepay_id", prepayId, "action", "pay"));
  }

  static NotifyServer.Received awaitNotification(String path, String eventType) throws InterruptedException {
    return notify.await(r -> r.path().equals(path) && r.body().contains("\"event_type\":\"" + eventType + "\""));
  }

  /** The SDK's own verification and decryption of a received notification. */
  static <T> T parse(NotifyServer.Received n, Class<T> type, RSAAutoCertificateConfig with) {
    RequestParam param = new RequestParam.Builder()
        .serialNumber(n.header("Wechatpay-Serial"))
        .nonce(n.header("Wechatpay-Nonce"))
        .signature(n.header("Wechatpay-Signature"))
        .timestamp(n.header("Wechatpay-Timestamp"))
        .signType(n.header("Wechatpay-Signature-Type"))
        .body(n.body())
        .build();
    return new NotificationParser(with).parse(param, type);
  }

  static void control(String method, String path, Object body) {
    Http.control(base, method, path, body);
  }

  static Transaction payNative(String no, int fen, String path) throws Exception {
    String codeUrl = nativePrepay(no, fen, path);
    Http.Response sheet = Http.get(base + "/scan?code_url=" + URLEncoder.encode(codeUrl, StandardCharsets.UTF_8));
    assertEquals(200, sheet.status());
    assertEquals(200, confirmOnSheet(sheet.body()).status());
    return parse(awaitNotification(path, "TRANSACTION.SUCCESS"), Transaction.class, config);
  }

  @Test
  void nativePrepayScanPayNotificationQueryAndErrors() throws Exception {
    String no = newNo("NAT");
    String codeUrl = nativePrepay(no, 1999, "/wechat/native");
    assertEquals(Transaction.TradeStateEnum.NOTPAY, query(no).getTradeState());

    Http.Response sheet = Http.get(base + "/scan?code_url=" + URLEncoder.encode(codeUrl, StandardCharsets.UTF_8));
    assertEquals(200, confirmOnSheet(sheet.body()).status());
    NotifyServer.Received n = awaitNotification("/wechat/native", "TRANSACTION.SUCCESS");
    Transaction paid = parse(n, Transaction.class, config);
    assertEquals(no, paid.getOutTradeNo());
    assertEquals(Transaction.TradeStateEnum.SUCCESS, paid.getTradeState());
    assertEquals(1999, paid.getAmount().getTotal());
    assertEquals(mchId, paid.getMchid());

    Transaction q = query(no);
    assertEquals(Transaction.TradeStateEnum.SUCCESS, q.getTradeState());
    assertEquals(paid.getTransactionId(), q.getTransactionId());

    // A paid order: closing it and ordering it again are both refused with ORDERPAID.
    CloseOrderRequest close = new CloseOrderRequest();
    close.setMchid(mchId);
    close.setOutTradeNo(no);
    ServiceException closed = assertThrows(ServiceException.class, () -> nativePay.closeOrder(close));
    assertEquals("ORDERPAID", closed.getErrorCode());
    ServiceException again = assertThrows(ServiceException.class, () -> nativePrepay(no, 1999, "/wechat/native"));
    assertEquals("ORDERPAID", again.getErrorCode());

    // An order WeChat never saw.
    ServiceException unknown = assertThrows(ServiceException.class, () -> query(newNo("NONE")));
    assertEquals(404, unknown.getHttpStatusCode());
    assertEquals("ORDER_NOT_EXIST", unknown.getErrorCode());

    // The notification's signature covers the body: a changed body fails the SDK's check.
    NotifyServer.Received forged = new NotifyServer.Received(n.path(), n.headers(), n.body().replace("\"summary\":\"", "\"summary\":\"!"));
    assertThrows(ValidationException.class, () -> parse(forged, Transaction.class, config));
  }

  /** The sandbox's notification faults, each refused by the SDK's NotificationParser the way it refuses WeChat's. */
  @Test
  void notificationFaultModesAreRefusedByTheSdkParser() throws Exception {
    Map<String, Class<? extends Exception>> modes = new LinkedHashMap<>();
    modes.put("{\"mode\":\"tampered\"}", ValidationException.class);
    modes.put("{\"badSerial\":true}", ValidationException.class);
    modes.put("{\"badCiphertext\":true}", com.wechat.pay.java.core.exception.DecryptionException.class);
    int i = 0;
    for (Map.Entry<String, Class<? extends Exception>> m : modes.entrySet()) {
      String no = newNo("FLT");
      String path = "/wechat/fault" + i++;
      nativePrepay(no, 100, path);
      JsonObject pay = new JsonObject();
      pay.addProperty("mchid", mchId);
      pay.add("notify", Http.GSON.fromJson(m.getKey(), JsonObject.class));
      control("POST", "/__sim/trades/" + no + "/pay", pay);
      NotifyServer.Received n = awaitNotification(path, "TRANSACTION.SUCCESS");
      assertThrows(m.getValue(), () -> parse(n, Transaction.class, config), m.getKey());
    }
    // A validly signed notification claiming another amount passes the SDK: only the merchant's own check can notice.
    String no = newNo("AMT");
    nativePrepay(no, 100, "/wechat/amount");
    JsonObject pay = new JsonObject();
    pay.addProperty("mchid", mchId);
    pay.add("notify", Http.GSON.fromJson("{\"amountOverrideFen\":1}", JsonObject.class));
    control("POST", "/__sim/trades/" + no + "/pay", pay);
    assertEquals(1, parse(awaitNotification("/wechat/amount", "TRANSACTION.SUCCESS"), Transaction.class, config).getAmount().getTotal());
  }

  @Test
  void closeUnpaidOrder() {
    String no = newNo("CLO");
    nativePrepay(no, 100, "/wechat/close");
    CloseOrderRequest close = new CloseOrderRequest();
    close.setMchid(mchId);
    close.setOutTradeNo(no);
    nativePay.closeOrder(close);
    assertEquals(Transaction.TradeStateEnum.CLOSED, query(no).getTradeState());
  }

  @Test
  void h5PrepayPaidOnTheH5Page() throws Exception {
    H5Service h5 = new H5Service.Builder().httpClient(http).build();
    com.wechat.pay.java.service.payments.h5.model.PrepayRequest req = new com.wechat.pay.java.service.payments.h5.model.PrepayRequest();
    String no = newNo("H5");
    req.setAppid(appId);
    req.setMchid(mchId);
    req.setDescription("H5 支付");
    req.setOutTradeNo(no);
    req.setNotifyUrl(notify.url("/wechat/h5"));
    com.wechat.pay.java.service.payments.h5.model.Amount amount = new com.wechat.pay.java.service.payments.h5.model.Amount();
    amount.setTotal(1);
    req.setAmount(amount);
    SceneInfo scene = new SceneInfo();
    scene.setPayerClientIp("127.0.0.1");
    H5Info info = new H5Info();
    info.setType("Wap");
    scene.setH5Info(info);
    req.setSceneInfo(scene);
    String h5Url = h5.prepay(req).getH5Url();
    Http.Response page = Http.get(h5Url + "?redirect_url=" + URLEncoder.encode("http://127.0.0.1:9/back", StandardCharsets.UTF_8));
    assertEquals(200, page.status());
    String prepayId = Http.find(page.body(), "name=\"prepay_id\" value=\"([^\"]+)\"");
    String redirect = Http.htmlUnescape(Http.find(page.body(), "name=\"redirect_url\" value=\"([^\"]+)\""));
    Http.Response done = Http.postForm(base + "/pay/confirm", Map.of("prepay_id", prepayId, "redirect_url", redirect, "action", "pay"));
    // WeChat sends the browser back to redirect_url whatever happened; the merchant queries.
    assertEquals(302, done.status());
    assertEquals(URI.create("http://127.0.0.1:9/back"), URI.create(done.headers().firstValue("location").orElseThrow()));
    Transaction t = parse(awaitNotification("/wechat/h5", "TRANSACTION.SUCCESS"), Transaction.class, config);
    assertEquals(Transaction.TradeTypeEnum.MWEB, t.getTradeType());
    assertEquals(Transaction.TradeStateEnum.SUCCESS, query(no).getTradeState());
  }

  @Test
  void appPrepayWithRequestPaymentSignAcceptedByTheClient() throws Exception {
    AppServiceExtension app = new AppServiceExtension.Builder().config(config).httpClient(http).build();
    com.wechat.pay.java.service.payments.app.model.PrepayRequest req = new com.wechat.pay.java.service.payments.app.model.PrepayRequest();
    String no = newNo("APP");
    req.setAppid(appId);
    req.setMchid(mchId);
    req.setDescription("App 支付");
    req.setOutTradeNo(no);
    req.setNotifyUrl(notify.url("/wechat/app"));
    com.wechat.pay.java.service.payments.app.model.Amount amount = new com.wechat.pay.java.service.payments.app.model.Amount();
    amount.setTotal(321);
    req.setAmount(amount);
    var p = app.prepayWithRequestPayment(req);
    assertEquals("Sign=WXPay", p.getPackageVal());
    Map<String, String> params = new LinkedHashMap<>();
    params.put("appid", p.getAppid());
    params.put("partnerid", p.getPartnerId());
    params.put("prepayid", p.getPrepayId());
    params.put("timestamp", p.getTimestamp());
    params.put("noncestr", p.getNonceStr());
    params.put("sign", p.getSign());
    // What the WeChat app checks before showing the sheet: the SDK's client-side sign.
    Http.Response sheet = Http.get(base + "/pay/prepay/" + p.getPrepayId() + "?" + Http.formEncode(params));
    assertEquals(200, sheet.status(), sheet.body());
    assertTrue(sheet.body().contains("sign 已验证"), sheet.body());
    params.put("sign", p.getSign().substring(4) + "AAAA");
    assertEquals(400, Http.get(base + "/pay/prepay/" + p.getPrepayId() + "?" + Http.formEncode(params)).status());

    assertEquals(200, confirmOnSheet(sheet.body()).status());
    Transaction t = parse(awaitNotification("/wechat/app", "TRANSACTION.SUCCESS"), Transaction.class, config);
    assertEquals(Transaction.TradeTypeEnum.APP, t.getTradeType());
    assertEquals(321, t.getAmount().getTotal());
  }

  @Test
  void jsapiPrepayWithRequestPaymentPaySignAcceptedByTheClient() throws Exception {
    JsapiServiceExtension jsapi = new JsapiServiceExtension.Builder().config(config).httpClient(http).build();
    com.wechat.pay.java.service.payments.jsapi.model.PrepayRequest req = new com.wechat.pay.java.service.payments.jsapi.model.PrepayRequest();
    String no = newNo("JS");
    req.setAppid(appId);
    req.setMchid(mchId);
    req.setDescription("JSAPI 支付");
    req.setOutTradeNo(no);
    req.setNotifyUrl(notify.url("/wechat/jsapi"));
    com.wechat.pay.java.service.payments.jsapi.model.Amount amount = new com.wechat.pay.java.service.payments.jsapi.model.Amount();
    amount.setTotal(88);
    req.setAmount(amount);
    Payer payer = new Payer();
    payer.setOpenid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    req.setPayer(payer);
    var p = jsapi.prepayWithRequestPayment(req);
    assertEquals("RSA", p.getSignType());
    String prepayId = p.getPackageVal().substring("prepay_id=".length());
    Map<String, String> params = new LinkedHashMap<>();
    params.put("appId", p.getAppId());
    params.put("timeStamp", p.getTimeStamp());
    params.put("nonceStr", p.getNonceStr());
    params.put("package", p.getPackageVal());
    params.put("signType", p.getSignType());
    params.put("paySign", p.getPaySign());
    Http.Response sheet = Http.get(base + "/pay/prepay/" + prepayId + "?" + Http.formEncode(params));
    assertEquals(200, sheet.status(), sheet.body());
    assertTrue(sheet.body().contains("paySign 已验证"), sheet.body());
    assertEquals(200, confirmOnSheet(sheet.body()).status());
    Transaction t = parse(awaitNotification("/wechat/jsapi", "TRANSACTION.SUCCESS"), Transaction.class, config);
    assertEquals(Transaction.TradeTypeEnum.JSAPI, t.getTradeType());
    assertEquals("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", t.getPayer().getOpenid());
  }

  @Test
  void requestSignedWithAnotherKeyIsRefusedWithSignError() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    HttpClient forged = new DefaultHttpClientBuilder()
        .credential(new WechatPay2Credential(mchId, new RSASigner(Env.wechatMerchantSerial(), g.generateKeyPair().getPrivate())))
        .validator(config.createValidator())
        .okHttpClient(okHttp)
        .build();
    NativePayService service = new NativePayService.Builder().httpClient(forged).build();
    QueryOrderByOutTradeNoRequest q = new QueryOrderByOutTradeNoRequest();
    q.setMchid(mchId);
    q.setOutTradeNo(newNo("SIG"));
    ServiceException e = assertThrows(ServiceException.class, () -> service.queryOrderByOutTradeNo(q));
    assertEquals(401, e.getHttpStatusCode());
    assertEquals("SIGN_ERROR", e.getErrorCode());
  }

  @Test
  void anAnswerWithABrokenSignatureFailsTheSdkValidator() {
    // Only 2xx answers are validated by the SDK (error answers become ServiceException first): use a real order.
    String no = newNo("BAD");
    nativePrepay(no, 100, "/wechat/bad");
    JsonObject fault = new JsonObject();
    fault.addProperty("kind", "badSignature");
    fault.addProperty("mchid", mchId);
    control("POST", "/__sim/faults", fault);
    try {
      assertThrows(ValidationException.class, () -> query(no));
      assertEquals(Transaction.TradeStateEnum.NOTPAY, query(no).getTradeState());
    } finally {
      control("DELETE", "/__sim/faults", null);
    }
  }

  @Test
  void refundCreateQueryAndRefundNotification() throws Exception {
    String no = newNo("REF");
    Transaction paid = payNative(no, 1000, "/wechat/refund-pay");
    RefundService refunds = new RefundService.Builder().httpClient(http).build();
    CreateRequest req = new CreateRequest();
    req.setOutTradeNo(no);
    req.setOutRefundNo("R" + no);
    req.setReason("七天无理由");
    req.setNotifyUrl(notify.url("/wechat/refund"));
    AmountReq amount = new AmountReq();
    amount.setRefund(250L);
    amount.setTotal(1000L);
    amount.setCurrency("CNY");
    req.setAmount(amount);
    Refund created = refunds.create(req);
    assertEquals(Status.PROCESSING, created.getStatus());
    assertEquals(paid.getTransactionId(), created.getTransactionId());
    assertEquals(250L, created.getAmount().getRefund());

    // WeChat refunds are asynchronous: the sandbox completes this one by itself and notifies REFUND.SUCCESS.
    RefundNotification n = parse(awaitNotification("/wechat/refund", "REFUND.SUCCESS"), RefundNotification.class, config);
    assertEquals("R" + no, n.getOutRefundNo());
    assertEquals(Status.SUCCESS, n.getRefundStatus());
    assertEquals(250L, n.getAmount().getRefund());

    QueryByOutRefundNoRequest q = new QueryByOutRefundNoRequest();
    q.setOutRefundNo("R" + no);
    Refund found = refunds.queryByOutRefundNo(q);
    assertEquals(Status.SUCCESS, found.getStatus());
    assertNotNull(found.getSuccessTime());
    assertEquals(Transaction.TradeStateEnum.REFUND, query(no).getTradeState());

    // More than what is left of the payment.
    req.setOutRefundNo("R2" + no.substring(3));
    amount.setRefund(751L);
    ServiceException over = assertThrows(ServiceException.class, () -> refunds.create(req));
    assertEquals("INVALID_REQUEST", over.getErrorCode());
  }

  @Test
  void refundEndingAbnormalIsNotifiedAsRefundAbnormal() throws Exception {
    String no = newNo("ABN");
    payNative(no, 300, "/wechat/abnormal-pay");
    JsonObject manual = new JsonObject();
    manual.add("autoCompleteAfterMs", com.google.gson.JsonNull.INSTANCE);
    control("POST", "/__sim/refund-behaviour", manual);
    try {
      RefundService refunds = new RefundService.Builder().httpClient(http).build();
      CreateRequest req = new CreateRequest();
      req.setOutTradeNo(no);
      req.setOutRefundNo("A" + no);
      req.setNotifyUrl(notify.url("/wechat/abnormal"));
      AmountReq amount = new AmountReq();
      amount.setRefund(300L);
      amount.setTotal(300L);
      amount.setCurrency("CNY");
      req.setAmount(amount);
      assertEquals(Status.PROCESSING, refunds.create(req).getStatus());
      JsonObject complete = new JsonObject();
      complete.addProperty("mchid", mchId);
      complete.addProperty("status", "ABNORMAL");
      control("POST", "/__sim/refunds/A" + no + "/complete", complete);
      RefundNotification n = parse(awaitNotification("/wechat/abnormal", "REFUND.ABNORMAL"), RefundNotification.class, config);
      assertEquals(Status.ABNORMAL, n.getRefundStatus());
      QueryByOutRefundNoRequest q = new QueryByOutRefundNoRequest();
      q.setOutRefundNo("A" + no);
      assertEquals(Status.ABNORMAL, refunds.queryByOutRefundNo(q).getStatus());
    } finally {
      JsonObject auto = new JsonObject();
      auto.addProperty("autoCompleteAfterMs", 1000);
      control("POST", "/__sim/refund-behaviour", auto);
    }
  }

  @Test
  void certificateDownloadAnswerIsSignedByAListedPlatformCertificate() {
    // RSAAutoCertificateConfig downloads without checking the answer (it has no certificate yet); checked here with
    // the certificates it downloaded, through the SDK's validating HttpClient.
    HttpRequest get = new HttpRequest.Builder()
        .httpMethod(HttpMethod.GET)
        .url("https://api.mch.weixin.qq.com/v3/certificates?algorithm_type=RSA")
        .addHeader(Constant.ACCEPT, MediaType.APPLICATION_JSON.getValue())
        .build();
    JsonObject answer = http.execute(get, JsonObject.class).getServiceResponse();
    assertTrue(answer.getAsJsonArray("data").size() >= 1, answer.toString());
    assertEquals("AEAD_AES_256_GCM", answer.getAsJsonArray("data").get(0).getAsJsonObject().getAsJsonObject("encrypt_certificate").get("algorithm").getAsString());
  }

  @Test
  void tradeBillDownloadedGzippedAndHashChecked() throws Exception {
    String no = newNo("BILL");
    nativePrepay(no, 777, "/wechat/bill");
    String yesterday = LocalDate.now(SHANGHAI).minusDays(1).toString();
    JsonObject pay = new JsonObject();
    pay.addProperty("mchid", mchId);
    pay.addProperty("successTime", yesterday + "T12:00:00+08:00");
    control("POST", "/__sim/trades/" + no + "/pay", pay);

    BillDownloadServiceExtension bills = new BillDownloadServiceExtension.Builder().httpClient(http).decryptor(config.createDecryptor()).build();
    GetTradeBillRequest req = new GetTradeBillRequest();
    req.setBillDate(yesterday);
    req.setBillType(BillType.ALL);
    req.setTarType(TarType.GZIP);
    DigestBillEntity bill = bills.getTradeBill(req);
    String text;
    try (InputStream in = bill.getInputStream()) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(bill.verifyHash(), "SHA-1 of the downloaded bill matches hash_value");
    // UTF-8 with a BOM, as WeChat writes its bills for spreadsheet programs; the hash covers the BOM.
    assertTrue(text.startsWith("\uFEFF"), "BOM");
    String[] lines = text.substring(1).split("\r?\n");
    assertTrue(lines[0].startsWith("交易时间,公众账号ID,商户号"), lines[0]);
    String line = java.util.Arrays.stream(lines).filter(l -> l.contains("`" + no)).findFirst().orElseThrow(() -> new AssertionError(text));
    List<String> cells = java.util.Arrays.stream(line.split(",")).map(c -> c.startsWith("`") ? c.substring(1) : c).toList();
    assertEquals(mchId, cells.get(2));
    assertEquals("SUCCESS", cells.get(9));
    assertTrue(cells.contains("7.77"), line);
    assertTrue(text.contains("总交易单数"), text);

    // A file that does not match the hash from the signed answer is caught by the SDK's own check.
    JsonObject corrupt = new JsonObject();
    corrupt.addProperty("mchid", mchId);
    corrupt.addProperty("kind", "ALTERED");
    control("POST", "/__sim/bills/corrupt-next-download", corrupt);
    req.setTarType(null);
    DigestBillEntity altered = bills.getTradeBill(req);
    try (InputStream in = altered.getInputStream()) {
      in.readAllBytes();
    }
    assertFalse(altered.verifyHash());
  }

  @Test
  void fundFlowBillOfTheBasicAccount() throws Exception {
    String no = newNo("FUND");
    nativePrepay(no, 1000, "/wechat/fund");
    String yesterday = LocalDate.now(SHANGHAI).minusDays(1).toString();
    JsonObject pay = new JsonObject();
    pay.addProperty("mchid", mchId);
    pay.addProperty("successTime", yesterday + "T09:30:00+08:00");
    control("POST", "/__sim/trades/" + no + "/pay", pay);

    BillDownloadServiceExtension bills = new BillDownloadServiceExtension.Builder().httpClient(http).decryptor(config.createDecryptor()).build();
    GetFundFlowBillRequest req = new GetFundFlowBillRequest();
    req.setBillDate(yesterday);
    req.setAccountType(AccountType.BASIC);
    req.setTarType(TarType.GZIP);
    DigestBillEntity bill = bills.getFundFlowBill(req);
    String text;
    try (InputStream in = bill.getInputStream()) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(bill.verifyHash(), "SHA-1 of the downloaded fund flow bill matches hash_value");
    String[] lines = text.replace("\uFEFF", "").split("\r?\n");
    assertTrue(lines[0].startsWith("记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）"), lines[0]);
    String line = java.util.Arrays.stream(lines).filter(l -> l.endsWith("`" + no)).findFirst().orElseThrow(() -> new AssertionError(text));
    List<String> cells = java.util.Arrays.stream(line.split(",")).map(c -> c.startsWith("`") ? c.substring(1) : c).toList();
    assertEquals(yesterday + " 09:30:00", cells.get(0));
    assertEquals("收入", cells.get(5));
    // Net of the sandbox's 0.6% fee: 10.00 − 0.06.
    assertEquals("9.94", cells.get(6));
    assertTrue(text.contains("资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额"), text);

    // No transfer was paid out of the operation account that day.
    req.setAccountType(AccountType.OPERATION);
    ServiceException none = assertThrows(ServiceException.class, () -> bills.getFundFlowBill(req));
    assertEquals("NO_STATEMENT_EXIST", none.getErrorCode());
  }

  /**
   * WeChat's platform certificate update guide (平滑切换): a new certificate is listed by /v3/certificates days
   * before WeChat signs with it, so a merchant refreshing periodically (wechatpay-java: every 60 minutes) has it in
   * time; Wechatpay-Serial names the certificate of each signature.
   */
  @Test
  void platformCertificateRotationListsTheNewCertificateBeforeSigningWithIt() throws Exception {
    String oldSerial = config.createEncryptor().getWechatpaySerial();
    String no = newNo("ROT");
    nativePrepay(no, 5, "/wechat/rotation");
    JsonObject rotated = Http.control(base, "POST", "/__sim/platform-certificates/rotate", null).getAsJsonObject();
    String newSerial = rotated.get("serial").getAsString();
    assertNotEquals(oldSerial, newSerial);
    assertFalse(rotated.get("signing").getAsBoolean());

    // Overlap: the client holding only the old certificate still verifies every answer.
    assertEquals(Transaction.TradeStateEnum.NOTPAY, query(no).getTradeState());

    // Its next download lists both; the SDK encrypts with the newest from then on.
    RSAAutoCertificateConfig after = newConfig();
    assertEquals(newSerial, after.createEncryptor().getWechatpaySerial());

    // WeChat starts signing with the new certificate: answers and notifications name it and verify.
    Http.control(base, "POST", "/__sim/platform-certificates/" + newSerial + "/activate", null);
    HttpClient rotatedHttp = new DefaultHttpClientBuilder().config(after).okHttpClient(okHttp).build();
    NativePayService service = new NativePayService.Builder().httpClient(rotatedHttp).build();
    QueryOrderByOutTradeNoRequest q = new QueryOrderByOutTradeNoRequest();
    q.setMchid(mchId);
    q.setOutTradeNo(no);
    assertEquals(Transaction.TradeStateEnum.NOTPAY, service.queryOrderByOutTradeNo(q).getTradeState());
    JsonObject pay = new JsonObject();
    pay.addProperty("mchid", mchId);
    control("POST", "/__sim/trades/" + no + "/pay", pay);
    NotifyServer.Received n = awaitNotification("/wechat/rotation", "TRANSACTION.SUCCESS");
    assertEquals(newSerial, n.header("Wechatpay-Serial"));
    assertEquals(no, parse(n, Transaction.class, after).getOutTradeNo());
  }

  @Test
  void merchantTransferBillThroughTheSdkHttpClient() throws Exception {
    // wechatpay-java has no service class for 商家转账 (transfer-bills); its HttpClient signs the request,
    // verifies the answer, and its PrivacyEncryptor encrypts user_name for the platform certificate it names.
    String openid = "oTransferPayee" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    JsonObject payee = new JsonObject();
    payee.addProperty("openid", openid);
    payee.addProperty("name", "张三");
    control("POST", "/__sim/transfer-payees", payee);

    PrivacyEncryptor encryptor = config.createEncryptor();
    String outBillNo = "TB" + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
    JsonObject body = new JsonObject();
    body.addProperty("appid", appId);
    body.addProperty("out_bill_no", outBillNo);
    body.addProperty("transfer_scene_id", "1000");
    body.addProperty("openid", openid);
    body.addProperty("user_name", encryptor.encrypt("张三"));
    body.addProperty("transfer_amount", 300);
    body.addProperty("transfer_remark", "新会员开通有礼");
    body.addProperty("notify_url", notify.url("/wechat/transfer"));
    body.addProperty("user_recv_perception", "现金奖励");
    JsonArray infos = new JsonArray();
    for (String[] kv : new String[][] {{"活动名称", "新会员有礼"}, {"奖励说明", "注册会员抽奖一等奖"}}) {
      JsonObject i = new JsonObject();
      i.addProperty("info_type", kv[0]);
      i.addProperty("info_content", kv[1]);
      infos.add(i);
    }
    body.add("transfer_scene_report_infos", infos);
    HttpHeaders headers = new HttpHeaders();
    headers.addHeader(Constant.ACCEPT, MediaType.APPLICATION_JSON.getValue());
    headers.addHeader(Constant.CONTENT_TYPE, MediaType.APPLICATION_JSON.getValue());
    headers.addHeader(Constant.WECHAT_PAY_SERIAL, encryptor.getWechatpaySerial());
    HttpRequest create = new HttpRequest.Builder()
        .httpMethod(HttpMethod.POST)
        .url("https://api.mch.weixin.qq.com/v3/fund-app/mch-transfer/transfer-bills")
        .headers(headers)
        .body(new JsonRequestBody.Builder().body(Http.GSON.toJson(body)).build())
        .build();
    JsonObject bill = http.execute(create, JsonObject.class).getServiceResponse();
    assertEquals("WAIT_USER_CONFIRM", bill.get("state").getAsString());
    String packageInfo = bill.get("package_info").getAsString();

    // The payee confirms on the page requestMerchantTransfer opens.
    Http.Response page = Http.postForm(base + "/transfer/confirm", Map.of("mchId", mchId, "appId", appId, "package", packageInfo, "action", "confirm"));
    assertEquals(200, page.status(), page.body());
    JsonObject finished = parse(awaitNotification("/wechat/transfer", "MCHTRANSFER.BILL.FINISHED"), JsonObject.class, config);
    assertEquals(outBillNo, finished.get("out_bill_no").getAsString());
    assertEquals("SUCCESS", finished.get("state").getAsString());
    assertEquals(300, finished.get("transfer_amount").getAsInt());

    HttpRequest query = new HttpRequest.Builder()
        .httpMethod(HttpMethod.GET)
        .url("https://api.mch.weixin.qq.com/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/" + outBillNo)
        .addHeader(Constant.ACCEPT, MediaType.APPLICATION_JSON.getValue())
        .build();
    assertEquals("SUCCESS", http.execute(query, JsonObject.class).getServiceResponse().get("state").getAsString());

    // 撤销转账 before the payee confirms: CANCELING, then CANCELLED with its notification.
    String cancelled = "TC" + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
    body.addProperty("out_bill_no", cancelled);
    body.addProperty("user_name", encryptor.encrypt("张三"));
    HttpRequest second = new HttpRequest.Builder()
        .httpMethod(HttpMethod.POST)
        .url("https://api.mch.weixin.qq.com/v3/fund-app/mch-transfer/transfer-bills")
        .headers(headers)
        .body(new JsonRequestBody.Builder().body(Http.GSON.toJson(body)).build())
        .build();
    assertEquals("WAIT_USER_CONFIRM", http.execute(second, JsonObject.class).getServiceResponse().get("state").getAsString());
    HttpRequest cancel = new HttpRequest.Builder()
        .httpMethod(HttpMethod.POST)
        .url("https://api.mch.weixin.qq.com/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/" + cancelled + "/cancel")
        .addHeader(Constant.ACCEPT, MediaType.APPLICATION_JSON.getValue())
        .addHeader(Constant.CONTENT_TYPE, MediaType.APPLICATION_JSON.getValue())
        .body(new JsonRequestBody.Builder().body("{}").build())
        .build();
    assertEquals("CANCELING", http.execute(cancel, JsonObject.class).getServiceResponse().get("state").getAsString());
    JsonObject end = parse(
        notify.await(r -> r.path().equals("/wechat/transfer") && r.body().contains("MCHTRANSFER.BILL.FINISHED") && parse(r, JsonObject.class, config).get("out_bill_no").getAsString().equals(cancelled)),
        JsonObject.class, config);
    assertEquals("CANCELLED", end.get("state").getAsString());
  }

  static String readAll(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
  }
}
