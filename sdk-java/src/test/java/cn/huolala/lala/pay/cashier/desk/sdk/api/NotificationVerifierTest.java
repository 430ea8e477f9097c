package cn.huolala.lala.pay.cashier.desk.sdk.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import cn.huolala.lala.pay.cashier.desk.sdk.exception.CashierDeskProtocolException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.SignatureVerificationException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.SignatureVerificationException.Reason;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkNotification;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkPaymentNotification;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkRefundNotification;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkTransferNotification;
import cn.huolala.lala.pay.cashier.desk.sdk.sign.SignType;
import cn.huolala.lala.pay.cashier.desk.sdk.sign.SignatureV1;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The notification verifier: what a merchant's notify endpoint accepts and what it refuses. */
class NotificationVerifierTest {
    private static final String APP_ID = "10123";
    private static final String KEY = "k-0123456789abcdef";
    private static final String PATH = "/pay/notify?shop=1";
    private static final long NOW = 1_764_650_000_000L;
    private static final String PAYMENT = "{\"eventId\":\"PAYMENT_RESULT-160\",\"eventType\":\"PAYMENT_RESULT\",\"appId\":\"10123\",\"orderId\":160,"
            + "\"outTradeNo\":\"110\",\"amount\":1999,\"channelId\":1,\"channelType\":\"ali-pay\",\"mchId\":\"2021000117617568\","
            + "\"payTime\":\"2026-11-25 12:00:00\",\"resultCode\":\"SUCCESS\",\"resultErrorCode\":null,\"resultErrorMsg\":null,\"attempt\":1}";

    private final AtomicLong clock = new AtomicLong(NOW);

    private PaySdk sdk(SignType signType, String... rotationKeys) {
        return PaySdk.builder(Gateway.GATEWAY_DEV).appId(APP_ID).appKey(KEY).signType(signType).rotationKeys(rotationKeys).clock(clock::get).build();
    }

    /** Headers as the cashier desk signs a notification: POST over the notify URL's path and query. */
    private static Map<String, String> signed(String appId, String key, SignType signType, String path, String body, long at) {
        return SignatureV1.signRequestHeaders("POST", path, appId, key, signType, body.getBytes(StandardCharsets.UTF_8), at);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @EnumSource(SignType.class)
    void acceptsASignedPaymentResultOnceAndReturnsItTyped(SignType signType) {
        PaySdk sdk = sdk(signType);
        Map<String, String> h = signed(APP_ID, KEY, signType, PATH, PAYMENT, NOW - 1000);
        SdkNotification n = sdk.verifyNotification("POST", PATH, h, utf8(PAYMENT));
        SdkPaymentNotification p = assertInstanceOf(SdkPaymentNotification.class, n);
        assertEquals("PAYMENT_RESULT-160", p.getEventId());
        assertEquals("110", p.getOutTradeNo());
        assertEquals(1999L, p.getAmount());
        assertEquals("160", p.getOrderId());
        assertEquals("SUCCESS", p.getResultCode());
        assertEquals(1, p.getAttempt());
        assertNull(p.getResultErrorCode());
        assertEquals(PAYMENT, p.getRawBody());

        // the same signed delivery again (a replay) is refused; the desk's own retry carries a new nonce
        SignatureVerificationException replay = assertThrows(SignatureVerificationException.class,
                () -> sdk.verifyNotification("POST", PATH, h, utf8(PAYMENT)));
        assertEquals(Reason.REPLAYED_NONCE, replay.getReason());
        sdk.verifyNotification("POST", PATH, signed(APP_ID, KEY, signType, PATH, PAYMENT, NOW), utf8(PAYMENT));
    }

    @Test
    void refusesABadSignature() {
        PaySdk sdk = sdk(SignType.HMAC_SHA256);
        Map<String, String> forged = signed(APP_ID, "not-the-key", SignType.HMAC_SHA256, PATH, PAYMENT, NOW);
        assertReason(Reason.BAD_SIGNATURE, () -> sdk.verifyNotification("POST", PATH, forged, utf8(PAYMENT)));

        Map<String, String> good = signed(APP_ID, KEY, SignType.HMAC_SHA256, PATH, PAYMENT, NOW);
        // a changed amount, another path, another method, another algorithm: each breaks the signature
        assertReason(Reason.BAD_SIGNATURE, () -> sdk.verifyNotification("POST", PATH, good, utf8(PAYMENT.replace("1999", "1"))));
        assertReason(Reason.BAD_SIGNATURE, () -> sdk.verifyNotification("POST", "/pay/notify", good, utf8(PAYMENT)));
        assertReason(Reason.BAD_SIGNATURE, () -> sdk.verifyNotification("PUT", PATH, good, utf8(PAYMENT)));
        Map<String, String> sm3Label = new HashMap<String, String>(good);
        sm3Label.put(SignatureV1.HEADER_SIGN_TYPE, "HMAC-SM3");
        assertReason(Reason.BAD_SIGNATURE, () -> sdk.verifyNotification("POST", PATH, sm3Label, utf8(PAYMENT)));
        // a forged message burnt no nonce: the genuine one still verifies
        sdk.verifyNotification("POST", PATH, good, utf8(PAYMENT));
    }

    @Test
    void refusesAStaleOrFutureTimestamp() {
        PaySdk sdk = sdk(SignType.HMAC_SHA256);
        assertReason(Reason.STALE_TIMESTAMP,
                () -> sdk.verifyNotification("POST", PATH, signed(APP_ID, KEY, SignType.HMAC_SHA256, PATH, PAYMENT, NOW - 300_001), utf8(PAYMENT)));
        assertReason(Reason.STALE_TIMESTAMP,
                () -> sdk.verifyNotification("POST", PATH, signed(APP_ID, KEY, SignType.HMAC_SHA256, PATH, PAYMENT, NOW + 300_001), utf8(PAYMENT)));
        sdk.verifyNotification("POST", PATH, signed(APP_ID, KEY, SignType.HMAC_SHA256, PATH, PAYMENT, NOW - 300_000), utf8(PAYMENT));
    }

    @Test
    void refusesAnotherAppsNotification() {
        PaySdk sdk = sdk(SignType.HMAC_SHA256);
        // signed for app 20456 (even with this key): the header names another app
        assertReason(Reason.APP_MISMATCH,
                () -> sdk.verifyNotification("POST", PATH, signed("20456", KEY, SignType.HMAC_SHA256, PATH, PAYMENT, NOW), utf8(PAYMENT)));
        // correctly signed for this app but the body is about another app
        String other = PAYMENT.replace("\"appId\":\"10123\"", "\"appId\":\"20456\"");
        CashierDeskProtocolException e = assertThrows(CashierDeskProtocolException.class,
                () -> sdk.verifyNotification("POST", PATH, signed(APP_ID, KEY, SignType.HMAC_SHA256, PATH, other, NOW), utf8(other)));
        assertEquals(-1, e.getCode());
    }

    @Test
    void refusesMissingMalformedAndRepeatedHeaders() {
        PaySdk sdk = sdk(SignType.HMAC_SHA256);
        Map<String, String> good = signed(APP_ID, KEY, SignType.HMAC_SHA256, PATH, PAYMENT, NOW);
        Map<String, String> noSig = new HashMap<String, String>(good);
        noSig.remove(SignatureV1.HEADER_SIGNATURE);
        assertReason(Reason.MISSING_HEADER, () -> sdk.verifyNotification("POST", PATH, noSig, utf8(PAYMENT)));
        Map<String, String> badType = new HashMap<String, String>(good);
        badType.put(SignatureV1.HEADER_SIGN_TYPE, "MD5");
        assertReason(Reason.BAD_SIGN_TYPE, () -> sdk.verifyNotification("POST", PATH, badType, utf8(PAYMENT)));
        Map<String, String> badNonce = new HashMap<String, String>(good);
        badNonce.put(SignatureV1.HEADER_NONCE, "short");
        assertReason(Reason.BAD_NONCE, () -> sdk.verifyNotification("POST", PATH, badNonce, utf8(PAYMENT)));
        Map<String, String> badTs = new HashMap<String, String>(good);
        badTs.put(SignatureV1.HEADER_TIMESTAMP, "-1");
        assertReason(Reason.BAD_TIMESTAMP, () -> sdk.verifyNotification("POST", PATH, badTs, utf8(PAYMENT)));

        // a header sent twice cannot choose which copy is verified
        Map<String, List<String>> twice = new HashMap<String, List<String>>();
        for (Map.Entry<String, String> e : good.entrySet()) {
            twice.put(e.getKey().toLowerCase(), new ArrayList<String>(Collections.singletonList(e.getValue())));
        }
        twice.get("x-cashier-signature").add("00");
        assertReason(Reason.MISSING_HEADER, () -> sdk.verifyNotification("POST", PATH, twice, utf8(PAYMENT)));
        twice.get("x-cashier-signature").remove(1);
        sdk.verifyNotification("POST", PATH, twice, utf8(PAYMENT)); // lower-case names, list values: as HttpServer hands them
    }

    @Test
    void acceptsTheRotationKeyAndAFullNotifyUrl() {
        PaySdk sdk = sdk(SignType.HMAC_SHA256, "old-key-0000");
        Map<String, String> h = signed(APP_ID, "old-key-0000", SignType.HMAC_SHA256, PATH, PAYMENT, NOW);
        sdk.verifyNotification("POST", "https://shop.example.com" + PATH, h, utf8(PAYMENT));
        assertReason(Reason.BAD_SIGNATURE, () -> sdk(SignType.HMAC_SHA256)
                .verifyNotification("POST", PATH, signed(APP_ID, "old-key-0000", SignType.HMAC_SHA256, PATH, PAYMENT, NOW), utf8(PAYMENT)));
    }

    @Test
    void typesRefundAndTransferResultsAndRefusesOtherBodies() {
        PaySdk sdk = sdk(SignType.HMAC_SM3);
        String refund = "{\"eventId\":\"REFUND_RESULT-7\",\"eventType\":\"REFUND_RESULT\",\"appId\":\"10123\",\"refundId\":7,\"outRefundNo\":\"R110-1\","
                + "\"outTradeNo\":\"110\",\"orderId\":160,\"amount\":500,\"refundTime\":\"2026-11-25 12:03:10\",\"resultCode\":\"SUCCESS\","
                + "\"resultErrorCode\":null,\"resultErrorMsg\":null,\"attempt\":2}";
        SdkRefundNotification r = assertInstanceOf(SdkRefundNotification.class,
                sdk.verifyNotification("POST", PATH, signed(APP_ID, KEY, SignType.HMAC_SM3, PATH, refund, NOW), utf8(refund)));
        assertEquals("R110-1", r.getOutRefundNo());
        assertEquals(500L, r.getAmount());
        assertEquals(2, r.getAttempt());

        String transfer = "{\"eventId\":\"TRANSFER_RESULT-3\",\"eventType\":\"TRANSFER_RESULT\",\"appId\":\"10123\",\"transferId\":3,\"outBizNo\":\"W-1001\","
                + "\"channelType\":\"ali-pay\",\"amount\":5000,\"payeeType\":\"ALIPAY_LOGON_ID\",\"payeeAccount\":\"payee@example.com\","
                + "\"transferTime\":\"2026-12-02 12:00:00\",\"resultCode\":\"SUCCESS\",\"resultErrorCode\":null,\"resultErrorMsg\":null,\"attempt\":1}";
        SdkTransferNotification t = assertInstanceOf(SdkTransferNotification.class,
                sdk.verifyNotification("POST", PATH, signed(APP_ID, KEY, SignType.HMAC_SM3, PATH, transfer, NOW), utf8(transfer)));
        assertEquals("W-1001", t.getOutBizNo());

        // a payment result without eventType (older deployments) is still a payment result
        String legacy = PAYMENT.replace("\"eventType\":\"PAYMENT_RESULT\",", "");
        SdkNotification n = sdk.verifyNotification("POST", PATH, signed(APP_ID, KEY, SignType.HMAC_SM3, PATH, legacy, NOW), utf8(legacy));
        assertEquals("PAYMENT_RESULT", n.getEventType());

        for (String body : new String[] {"not json", "[1]", "{\"eventType\":\"OTHER\",\"resultCode\":\"SUCCESS\"}", "{\"outTradeNo\":\"1\"}"}) {
            assertThrows(CashierDeskProtocolException.class,
                    () -> sdk.verifyNotification("POST", PATH, signed(APP_ID, KEY, SignType.HMAC_SM3, PATH, body, NOW), utf8(body)));
        }
    }

    @Test
    void theAcknowledgementIsTheExactBodyTheDeskExpects() {
        assertEquals("{\"code\":1000,\"msg\":\"操作成功\"}", PaySdk.NOTIFICATION_ACK);
    }

    private static void assertReason(Reason reason, org.junit.jupiter.api.function.Executable call) {
        SignatureVerificationException e = assertThrows(SignatureVerificationException.class, call);
        assertEquals(reason, e.getReason());
        assertEquals(4010, e.getCode());
    }
}
