package cn.huolala.lala.pay.cashier.desk.sdk.sign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cn.huolala.lala.pay.cashier.desk.sdk.exception.SignatureVerificationException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.SignatureVerificationException.Reason;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The test vectors of the project README's "Signature v1" section (appId 10123, appKey 000000, timestamp
 * 1617096420811, nonce a1B2c3D4e5F6g7H8), computed there independently of this code.
 */
class SignatureV1VectorsTest {
    private static final String APP_ID = "10123";
    private static final String KEY = "000000";
    private static final String TS = "1617096420811";
    private static final String NONCE = "a1B2c3D4e5F6g7H8";
    private static final String POST_PATH = "/api/cashier-desk/unified/orders";
    private static final String GET_PATH = "/api/cashier-desk/out-trade-no/query-pay-result/110";
    private static final String TOKEN = "8FD92320C51048D1B69264E5899B6DBF";

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] message(String name) {
        switch (name) {
            case "POST":
                return SignatureV1.requestStringToSign("POST", POST_PATH, APP_ID, TS, NONCE, utf8("{\"amount\":1}"));
            case "GET":
                return SignatureV1.requestStringToSign("GET", GET_PATH, APP_ID, TS, NONCE, null);
            case "RESPONSE":
                return SignatureV1.responseStringToSign(POST_PATH, APP_ID, TS, NONCE, utf8("{\"amount\":1}"));
            case "ORDER":
                return SignatureV1.orderStringToSign(APP_ID, "110", TOKEN, TS, NONCE);
            case "POST_UTF8":
                return SignatureV1.requestStringToSign("POST", POST_PATH, APP_ID, TS, NONCE, utf8("{\"goodsDesc\":\"收银台\",\"amount\":1}"));
            default:
                throw new IllegalArgumentException(name);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "POST,      89e29dfe66b84c09d95adedf9bcc0cd735d789898f5374a7397c6ebca5aa3fc5, ffe813a5d9e7c1e5f810a18a6cc337cd16e1ad636f6a46371d95d91c2b5dd665",
        "GET,       b9063e503ed3979d5ce67c53bf2e0c92259c3900abeeb96a6b2d64daf4831cff, fd7fe09f5c1eae74fe092109b9a93b6aea18672a14d75fdb0bef407a35067dda",
        "RESPONSE,  6b59dd24de0cc15d7539a7b346188b468c82d60ccf4315bb8680ea9c00a4fd0e, 9eb48f1adccc62f8f751b086b868eff905d372499d21c4c4ce4bbecd1fb2e5c3",
        "ORDER,     58018786e6c19d37e319df1297f2ff796d0c7f6ecafa9f08486f43976001e0ee, dfbeb428e7406e9c79bd7e529931784abed31203d643f7af51ecce4b4129bf19",
        "POST_UTF8, 162bff86167e839847a9b7719e5fed73baae0528bf743375169c6ea89c391228, fd2bc31d843766f43a17fd0e2c164f7a3d044e7ea04e3209653a9975690f6007",
    })
    void readmeVectors(String name, String sha256, String sm3) {
        assertEquals(sha256, SignatureV1.sign(SignType.HMAC_SHA256, KEY, message(name)));
        assertEquals(sm3, SignatureV1.sign(SignType.HMAC_SM3, KEY, message(name)));
    }

    @Test
    void getStringToSignEndsWithTheNewlineBeforeTheEmptyBody() {
        assertEquals("GET\n" + GET_PATH + "\n10123\n" + TS + "\n" + NONCE + "\n", new String(message("GET"), StandardCharsets.UTF_8));
        assertEquals("ORDER\n10123\n110\n" + TOKEN + "\n" + TS + "\n" + NONCE, new String(message("ORDER"), StandardCharsets.UTF_8));
    }

    @Test
    void verifiesTheReadmeRequestAtItsOwnTimeAndNotFiveMinutesLater() {
        Map<String, String> h = new HashMap<String, String>();
        h.put("x-cashier-app-id", APP_ID);
        h.put("x-cashier-timestamp", TS);
        h.put("x-cashier-nonce", NONCE);
        h.put("x-cashier-sign-type", "HMAC-SM3");
        h.put("x-cashier-signature", "FFE813A5D9E7C1E5F810A18A6CC337CD16E1AD636F6A46371D95D91C2B5DD665"); // hex case does not matter
        long ts = Long.parseLong(TS);
        VerifiedMessage v = SignatureV1.verifyRequest("POST", POST_PATH, HeaderLookup.of(h), utf8("{\"amount\":1}"),
                Collections.singletonList(KEY), ts + 300_000, APP_ID);
        assertEquals(SignType.HMAC_SM3, v.getSignType());
        assertEquals(NONCE, v.getNonce());
        SignatureVerificationException stale = assertThrows(SignatureVerificationException.class, () -> SignatureV1.verifyRequest("POST",
                POST_PATH, HeaderLookup.of(h), utf8("{\"amount\":1}"), Collections.singletonList(KEY), ts + 300_001, APP_ID));
        assertEquals(Reason.STALE_TIMESTAMP, stale.getReason());
        assertEquals(4010, stale.getCode());
    }

    @Test
    void signaturesAreComparedAsHexBytes() {
        String s = "89e29dfe66b84c09d95adedf9bcc0cd735d789898f5374a7397c6ebca5aa3fc5";
        assertTrue(SignatureV1.signaturesEqual(s, s.toUpperCase()));
        assertFalse(SignatureV1.signaturesEqual(s, s.substring(0, 62)));
        assertFalse(SignatureV1.signaturesEqual(s, s.substring(0, 63) + "4"));
        assertFalse(SignatureV1.signaturesEqual(s, s.substring(0, 63) + "g"));
        assertFalse(SignatureV1.signaturesEqual("", ""));
        assertFalse(SignatureV1.signaturesEqual(null, s));
    }

    @Test
    void generatedNoncesAreValidAndDistinct() {
        String a = SignatureV1.generateNonce();
        String b = SignatureV1.generateNonce();
        assertTrue(a.matches("[A-Za-z0-9]{32}"));
        assertFalse(a.equals(b));
    }

    @Test
    void refusesToSignFieldsWithLineBreaks() {
        assertThrows(IllegalArgumentException.class, () -> SignatureV1.requestStringToSign("POST", "/x", "1\n2", TS, NONCE, null));
        assertThrows(IllegalArgumentException.class, () -> SignatureV1.requestStringToSign("POST", "x", APP_ID, TS, NONCE, null));
    }
}
