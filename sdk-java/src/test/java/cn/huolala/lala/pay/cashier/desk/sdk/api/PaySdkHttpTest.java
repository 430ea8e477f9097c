package cn.huolala.lala.pay.cashier.desk.sdk.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cn.huolala.lala.pay.cashier.desk.sdk.exception.CashierDeskException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.CashierDeskNetworkException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.CashierDeskProtocolException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.SignatureVerificationException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.SignatureVerificationException.Reason;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkQueryOrderResponse;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkUnifiedOrdersRequest;
import cn.huolala.lala.pay.cashier.desk.sdk.sign.HeaderLookup;
import cn.huolala.lala.pay.cashier.desk.sdk.sign.SignType;
import cn.huolala.lala.pay.cashier.desk.sdk.sign.SignatureV1;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * How the client treats answers, against a local HTTP server that plays the cashier desk: it checks the request
 * signature the way the server does and answers as each test scripts (the real server is exercised by the
 * project's end-to-end test, test/e2e/java-sdk.test.ts).
 */
class PaySdkHttpTest {
    private static final String APP_ID = "10123";
    private static final String KEY = "000000";

    /** What the stub answers: status, body, and whether (and with which key) it signs the answer. */
    private static final class Answer {
        final int status;
        final String body;
        final String signWith;
        final String contentType;

        Answer(int status, String body, String signWith, String contentType) {
            this.status = status;
            this.body = body;
            this.signWith = signWith;
            this.contentType = contentType;
        }
    }

    private HttpServer server;
    private final AtomicReference<Answer> answer = new AtomicReference<Answer>();
    private final AtomicReference<String> lastTarget = new AtomicReference<String>();
    private final AtomicReference<String> lastBody = new AtomicReference<String>();
    private final AtomicReference<String> requestProblem = new AtomicReference<String>();
    /** When set, the stub answers with these headers instead of signing afresh (a replayed answer). */
    private volatile Map<String, String> replayHeaders;
    private volatile Map<String, String> lastSigned;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/api/cashier-desk", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private PaySdk sdk(SignType signType) {
        return new PaySdk(Gateway.of("http://127.0.0.1:" + server.getAddress().getPort() + "/api/cashier-desk/"), APP_ID, KEY, signType);
    }

    private void handle(HttpExchange ex) throws IOException {
        byte[] body = readAll(ex.getRequestBody());
        String target = ex.getRequestURI().getRawPath() + (ex.getRequestURI().getRawQuery() != null ? "?" + ex.getRequestURI().getRawQuery() : "");
        lastTarget.set(target);
        lastBody.set(new String(body, StandardCharsets.UTF_8));
        try {
            SignatureV1.verifyRequest(ex.getRequestMethod(), target, HeaderLookup.of(ex.getRequestHeaders()), body, Collections.singletonList(KEY),
                    System.currentTimeMillis(), APP_ID);
            requestProblem.set(null);
        } catch (SignatureVerificationException e) {
            requestProblem.set(e.getReason().name());
        }
        Answer a = answer.get();
        byte[] out = a.body.getBytes(StandardCharsets.UTF_8);
        if (a.signWith != null) {
            Map<String, String> h = replayHeaders != null ? replayHeaders
                    : SignatureV1.signResponseHeaders(target, APP_ID, a.signWith, SignType.fromHeaderValue(ex.getRequestHeaders().getFirst("X-Cashier-Sign-Type")),
                            out, System.currentTimeMillis());
            for (Map.Entry<String, String> e : h.entrySet()) {
                ex.getResponseHeaders().set(e.getKey(), e.getValue());
            }
            lastSigned = h;
        }
        ex.getResponseHeaders().set("Content-Type", a.contentType);
        ex.sendResponseHeaders(a.status, out.length == 0 ? -1 : out.length);
        OutputStream os = ex.getResponseBody();
        os.write(out);
        os.close();
    }


    private void answer(int status, String body, String signWith) {
        answer.set(new Answer(status, body, signWith, "application/json; charset=utf-8"));
    }

    private static final String QUERY_OK = "{\"code\":1000,\"msg\":\"操作成功\",\"data\":{\"channelId\":1,\"channelType\":\"ali-pay\",\"mchId\":\"2021\","
            + "\"payTime\":\"2026-11-25 12:00:00\",\"resultCode\":\"SUCCESS\",\"resultErrorCode\":null,\"resultErrorMsg\":null,\"refundedAmount\":0},"
            + "\"responseTime\":1}";

    @Test
    void signsRequestsAndReturnsVerifiedData() {
        for (SignType t : SignType.values()) {
            answer(200, QUERY_OK, KEY);
            SdkQueryOrderResponse r = sdk(t).queryOrder("110|a*b.c");
            assertEquals(null, requestProblem.get(), "the stub verified the request signature");
            // percent-encoded as encodeURIComponent does, and signed exactly as sent
            assertEquals("/api/cashier-desk/out-trade-no/query-pay-result/110%7Ca*b.c", lastTarget.get());
            assertEquals("SUCCESS", r.getResultCode());
            assertTrue(r.isPaid());
            assertEquals(Long.valueOf(1), r.getChannelId());
        }
    }

    @Test
    void anErrorEnvelopeIsACashierDeskExceptionWithItsCode() {
        answer(409, "{\"code\":4090,\"msg\":\"订单号重复\",\"responseTime\":1}", null);
        CashierDeskException e = assertThrows(CashierDeskException.class,
                () -> sdk(SignType.HMAC_SHA256).unifiedOrder(new SdkUnifiedOrdersRequest(100, "g", "t", "A1", "u")));
        assertEquals(4090, e.getCode());
        assertEquals("订单号重复", e.getMsg());
        assertEquals(409, e.getHttpStatus());
        assertFalse(e instanceof SignatureVerificationException);
        assertEquals("{\"amount\":100,\"goodsDesc\":\"g\",\"orderTitle\":\"t\",\"outTradeNo\":\"A1\",\"thirdPartyUser\":\"u\"}", lastBody.get());
    }

    @Test
    void aSuccessThatDoesNotVerifyIsRefused() {
        answer(200, QUERY_OK, "another-key");
        SignatureVerificationException bad = assertThrows(SignatureVerificationException.class, () -> sdk(SignType.HMAC_SHA256).queryOrder("110"));
        assertEquals(Reason.BAD_SIGNATURE, bad.getReason());
        assertEquals(200, bad.getHttpStatus());

        answer(200, QUERY_OK, null);
        assertEquals(Reason.MISSING_HEADER,
                assertThrows(SignatureVerificationException.class, () -> sdk(SignType.HMAC_SHA256).queryOrder("110")).getReason());
    }

    @Test
    void aReplayedAnswerIsRefused() {
        PaySdk sdk = sdk(SignType.HMAC_SHA256);
        answer(200, QUERY_OK, KEY);
        // the same signed answer twice: same path, same bytes, same nonce
        sdk.queryOrder("110");
        replayHeaders = lastSigned;
        assertEquals(Reason.REPLAYED_NONCE, assertThrows(SignatureVerificationException.class, () -> sdk.queryOrder("110")).getReason());
    }

    @Test
    void anAnswerOfTheWrongShapeIsAProtocolException() {
        answer.set(new Answer(502, "<html>bad gateway</html>", null, "text/html"));
        CashierDeskProtocolException e = assertThrows(CashierDeskProtocolException.class, () -> sdk(SignType.HMAC_SHA256).queryOrder("110"));
        assertEquals(CashierDeskException.CLIENT_SIDE, e.getCode());
        assertEquals(502, e.getHttpStatus());
    }

    @Test
    void noAnswerIsANetworkException() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        PaySdk sdk = new PaySdk(Gateway.of("http://127.0.0.1:" + port + "/api/cashier-desk"), APP_ID, KEY);
        CashierDeskNetworkException e = assertThrows(CashierDeskNetworkException.class, () -> sdk.queryOrder("110"));
        assertEquals(CashierDeskException.CLIENT_SIDE, e.getCode());
    }

    @Test
    void aStatementIsVerifiedOverItsBytesAndParsed() {
        String csv = "type,orderId,outTradeNo,refundId,outRefundNo,channelType,providerTradeNo,amount,time\r\n"
                + "PAYMENT,160,110,,,ali-pay,2026112522001,1999,2026-11-25 12:00:00\r\n"
                + "REFUND,160,110,7,R110-1,ali-pay,2026112522001,500,2026-11-25 12:03:10\r\n"
                + "totalPaymentCount,totalPaymentAmount,totalRefundCount,totalRefundAmount,netAmount\r\n" + "1,1999,1,500,1499\r\n";
        answer.set(new Answer(200, csv, KEY, "text/csv; charset=utf-8"));
        cn.huolala.lala.pay.cashier.desk.sdk.model.SdkStatement s = sdk(SignType.HMAC_SM3).downloadBill("2026-11-25");
        assertEquals(2, s.getRows().size());
        assertEquals("REFUND", s.getRows().get(1).getType());
        assertEquals(Long.valueOf(7), s.getRows().get(1).getRefundId());
        assertEquals(null, s.getRows().get(0).getRefundId());
        assertEquals(1499, s.getNetAmount());
        assertEquals(csv, s.getCsv());

        answer.set(new Answer(200, csv.replace("1999", "9999"), "another-key", "text/csv; charset=utf-8"));
        assertThrows(SignatureVerificationException.class, () -> sdk(SignType.HMAC_SM3).downloadBill("2026-11-25"));
        answer(404, "{\"code\":4040,\"msg\":\"尚未生成\",\"responseTime\":1}", null);
        assertEquals(4040, assertThrows(CashierDeskException.class, () -> sdk(SignType.HMAC_SM3).downloadBill("2026-11-25")).getCode());
    }

    @Test
    void invalidInputIsRefusedBeforeAnythingIsSent() {
        answer(200, QUERY_OK, KEY);
        PaySdk sdk = sdk(SignType.HMAC_SHA256);
        assertThrows(IllegalArgumentException.class, () -> sdk.unifiedOrder(new SdkUnifiedOrdersRequest(0, "g", "t", "A1", "u")));
        assertThrows(IllegalArgumentException.class, () -> sdk.queryOrder(".."));
        assertThrows(IllegalArgumentException.class, () -> sdk.downloadBill("2026/11/25"));
        assertThrows(IllegalArgumentException.class, () -> Gateway.of("ftp://example.com/api"));
        assertEquals(null, lastTarget.get());
    }

    @Test
    void theOneArgumentConstructorReadsTheAppFromSystemProperties() {
        System.setProperty("cashier-desk.app-id", APP_ID);
        System.setProperty("cashier-desk.app-key", KEY);
        System.setProperty("cashier-desk.sign-type", "HMAC-SM3");
        try {
            PaySdk sdk = new PaySdk(Gateway.GATEWAY_DEV);
            assertEquals(APP_ID, sdk.getAppId());
            assertEquals(SignType.HMAC_SM3, sdk.getSignType());
            assertEquals("http://127.0.0.1:8080/api/cashier-desk", sdk.getGateway());
        } finally {
            System.clearProperty("cashier-desk.app-id");
            System.clearProperty("cashier-desk.app-key");
            System.clearProperty("cashier-desk.sign-type");
        }
        assertInstanceOf(IllegalStateException.class, assertThrows(RuntimeException.class, () -> new PaySdk(Gateway.GATEWAY_DEV)));
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }
}
